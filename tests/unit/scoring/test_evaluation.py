"""The evaluation's figures: binary metrics from confusion counts, rank correlation."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_lib.scoring.train.evaluation import BinaryMetrics, _spearman


def test_binary_metrics_count_the_confusion_matrix():
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    pred = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    m = BinaryMetrics.of(truth, pred)
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 1, 2, 3)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(0.5)
    assert m.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert m.accuracy == pytest.approx(5 / 8)


def test_binary_metrics_without_positives_are_zero_not_a_division_error():
    m = BinaryMetrics.of(np.zeros(4), np.zeros(4))
    assert (m.precision, m.recall, m.f1, m.accuracy) == (0.0, 0.0, 0.0, 1.0)


def test_spearman_ranks_and_a_constant_series_is_zero():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert _spearman(a, a ** 3) == pytest.approx(1.0)
    assert _spearman(a, -a) == pytest.approx(-1.0)
    assert _spearman(a, np.ones(4)) == 0.0
