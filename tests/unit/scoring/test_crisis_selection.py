"""Threshold and head arithmetic of the validation-split selection (no encoder needed)."""

import numpy as np

from pipeline_lib.scoring.crisis_selection import (
    MAX_THRESHOLD,
    TARGET_RECALL,
    _fit,
    _logits,
    _mean_head,
    flags_for,
    pick_threshold,
)
from pipeline_lib.scoring.encoder import EMBED_DIM


def test_threshold_keeps_the_target_recall_with_a_margin_below_the_last_positive_kept():
    rng = np.random.default_rng(0)
    y = np.array([1] * 100 + [0] * 100)
    probs = np.concatenate([rng.uniform(0.05, 0.45, 100), rng.uniform(0.0, 0.3, 100)])
    explicit = np.zeros(200, dtype=bool)
    tau = pick_threshold(probs, explicit, y, "classifier")
    assert 0 < tau <= MAX_THRESHOLD
    assert flags_for(probs, explicit, tau, "classifier")[y == 1].mean() >= TARGET_RECALL
    kept = sorted(probs[y == 1], reverse=True)[int(np.ceil(TARGET_RECALL * 100)) - 1]
    assert tau < kept  # strictly below the lowest positive it must keep: no message on the boundary


def test_an_explicit_cue_flags_only_under_the_cue_rule():
    probs, explicit = np.array([0.01, 0.9]), np.array([True, False])
    assert flags_for(probs, explicit, 0.5, "cue_or_classifier").tolist() == [True, True]
    assert flags_for(probs, explicit, 0.5, "classifier").tolist() == [False, True]


def test_embedding_only_head_ignores_cues_and_the_ensemble_is_the_mean_logit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, EMBED_DIM + 10))
    y = (x[:, 0] + x[:, EMBED_DIM] > 0).astype(int)
    emb_only, with_cues = _fit(x, y, c=1.0, cue_weight=0.0), _fit(x, y, c=1.0, cue_weight=3.0)
    assert not emb_only.coef[:, EMBED_DIM:].any() and with_cues.coef[:, EMBED_DIM:].any()
    moved = x.copy()
    moved[:, EMBED_DIM:] += 5.0
    assert np.allclose(_logits(emb_only, x), _logits(emb_only, moved))
    both = _mean_head(emb_only, with_cues)
    assert np.allclose(_logits(both, x), (_logits(emb_only, x) + _logits(with_cues, x)) / 2)


def test_the_veto_rules_set_aside_messages_whose_cues_were_all_handled():
    from pipeline_lib.scoring.crisis_cues import find_cues
    from pipeline_lib.scoring.crisis_selection import vetoed

    assert vetoed(find_cues("this traffic is killing me"))
    assert vetoed(find_cues("I'm not suicidal, just tired"))
    assert not vetoed(find_cues("I want to kill myself"))
    assert not vetoed(find_cues("My cat died and I can't stop crying"))  # no cue at all: p decides
    probs, explicit, veto = np.array([0.9, 0.9]), np.array([False, True]), np.array([True, True])
    assert flags_for(probs, explicit, 0.5, "classifier+veto", veto).tolist() == [False, False]
    assert flags_for(probs, explicit, 0.5, "classifier", veto).tolist() == [True, True]


def test_a_veto_override_lets_only_a_sure_classifier_flag_a_vetoed_message():
    probs, explicit, veto = np.array([0.999, 0.6, 0.6]), np.zeros(3, dtype=bool), np.array([True, True, False])
    assert flags_for(probs, explicit, 0.5, "classifier+veto", veto, 0.99).tolist() == [True, False, True]
    assert flags_for(probs, explicit, 0.5, "classifier+veto", veto, None).tolist() == [False, False, True]
    assert flags_for(probs, explicit, 0.5, "classifier", veto, 0.99).tolist() == [True, True, True]


def test_a_candidate_that_breaks_the_contract_loses_to_any_that_keeps_it():
    from pipeline_lib.scoring.crisis_selection import judge

    y = np.array([1] * 40 + [0] * 40)
    probs = np.concatenate([np.linspace(0.6, 0.99, 40), np.linspace(0.01, 0.4, 40)])
    none = np.zeros(80, dtype=bool)
    keeps = (np.array([0.1, 0.9]), np.zeros(2, dtype=bool), np.zeros(2, dtype=bool), np.array([0, 1]))
    breaks = (np.array([0.9, 0.9]), *keeps[1:])  # a must-not-flag message scores 0.9
    good, bad = (judge(probs, none, y, none, "classifier", None, c) for c in (keeps, breaks))
    assert good.kept and not bad.kept and good.recall == bad.recall == 1.0
    assert good.key > bad.key
