"""The A/B tests from summary statistics agree with scipy on the raw samples."""

from __future__ import annotations

import math
import random

from scipy import stats

from pipeline_lib.store.significance import compare_variants


def _summary(name: str, eq: list[float], latency: list[float], errors: int) -> dict:
    return {
        "variant": name,
        "requests": len(latency),
        "scored": len(eq),
        "mean_eq": sum(eq) / len(eq),
        "mean_sq_eq": sum(x * x for x in eq) / len(eq),
        "mean_latency_ms": sum(latency) / len(latency),
        "mean_sq_latency_ms": sum(x * x for x in latency) / len(latency),
        "errors": errors,
    }


def test_welch_and_fisher_match_scipy_on_raw_data():
    rng = random.Random(7)
    eq_a = [rng.gauss(0.60, 0.1) for _ in range(300)]
    eq_b = [rng.gauss(0.63, 0.12) for _ in range(250)]
    lat_a = [rng.lognormvariate(6, 0.3) for _ in range(300)]
    lat_b = [rng.lognormvariate(6, 0.3) for _ in range(250)]
    rows = [_summary("control", eq_a, lat_a, 3), _summary("candidate", eq_b, lat_b, 12)]
    results = {c.metric: c for c in compare_variants(rows)}

    expected_eq = stats.ttest_ind(eq_b, eq_a, equal_var=False)
    assert results["mean_eq"].baseline == "control"
    assert math.isclose(results["mean_eq"].p_value, expected_eq.pvalue, rel_tol=1e-6)
    ci = expected_eq.confidence_interval(0.95)
    assert math.isclose(results["mean_eq"].ci_low, ci.low, rel_tol=1e-6)
    assert math.isclose(results["mean_eq"].ci_high, ci.high, rel_tol=1e-6)
    expected_latency = stats.ttest_ind(lat_b, lat_a, equal_var=False)
    assert math.isclose(results["mean_latency_ms"].p_value, expected_latency.pvalue, rel_tol=1e-6)
    fisher = stats.fisher_exact([[3, 297], [12, 238]])
    assert math.isclose(results["error_rate"].p_value, fisher.pvalue, rel_tol=1e-9)
    assert results["error_rate"].significant


def test_no_comparison_without_two_variants():
    rows = [_summary("control", [0.5, 0.6], [100.0, 120.0], 0)]
    assert compare_variants(rows) == []


def test_identical_variants_are_not_significant():
    values = [0.5, 0.6, 0.7, 0.55]
    rows = [_summary("control", values, [100.0] * 4, 0), _summary("b", values, [100.0] * 4, 0)]
    assert not any(c.significant for c in compare_variants(rows))
