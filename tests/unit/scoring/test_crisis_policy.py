"""The crisis policy and its selection on validation: thresholds, vetoes, overrides, the contract."""

import numpy as np
import pytest

from pipeline_lib.scoring.crisis_cues import find_cues
from pipeline_lib.scoring.crisis_policy import CrisisPolicy, vetoed
from pipeline_lib.scoring.train.selection import (
    TARGET_RECALL,
    Judged,
    judge_all,
    message_scores,
    pick_threshold,
)

CURRENT = find_cues("I want to kill myself")
NEGATED = find_cues("I'm not suicidal, just tired")
NONE = find_cues("I had pasta for lunch")


def test_an_explicit_cue_flags_only_under_the_cue_rule():
    assert CrisisPolicy("cue_or_classifier", 0.5).judge(0.01, CURRENT) == (True, 1.0)
    assert CrisisPolicy("classifier", 0.5).judge(0.01, CURRENT) == (False, 0.01)


def test_the_veto_holds_below_the_override_only():
    assert vetoed(NEGATED) and not vetoed(CURRENT) and not vetoed(NONE)
    policy = CrisisPolicy("classifier+veto", 0.3, 0.99)
    assert policy.judge(0.9, NEGATED)[0] is False  # set aside by the lexicon, classifier not sure
    assert policy.judge(0.995, NEGATED)[0] is True  # the classifier is sure: the veto gives way
    assert policy.judge(0.9, NONE)[0] is True  # no cue at all: p decides
    assert CrisisPolicy("classifier+veto", 0.3).judge(0.9999, NEGATED)[0] is False  # no override


def test_a_policy_refuses_an_unknown_rule_or_an_override_without_a_veto():
    with pytest.raises(ValueError):
        CrisisPolicy("max", 0.5)
    with pytest.raises(ValueError):
        CrisisPolicy("classifier", 0.5, 0.99)
    policy = CrisisPolicy("cue_or_classifier+veto", 0.25, 0.95)
    assert CrisisPolicy.from_meta(policy.as_meta()) == policy


def test_message_scores_match_the_served_flag_for_every_threshold():
    windows = [[0.2, 0.7], [0.9], [0.1], [0.4]]
    cues = [[NONE, NONE], [NEGATED], [CURRENT], [NONE]]
    for rule in ("classifier", "cue_or_classifier+veto"):
        scores = message_scores([np.array(w) for w in windows], cues, rule, None)
        for tau in (0.05, 0.3, 0.5, 0.8, 0.95):
            policy = CrisisPolicy(rule, tau)
            served = [any(policy.judge(p, c)[0] for p, c in zip(ps, cs)) for ps, cs in zip(windows, cues)]
            assert list(scores >= tau) == served


def test_threshold_keeps_the_target_recall_with_a_margin_below_the_last_positive_kept():
    rng = np.random.default_rng(0)
    y = np.array([1] * 100 + [0] * 100)
    scores = np.concatenate([rng.uniform(0.05, 0.5, 100), rng.uniform(0.0, 0.3, 100)])
    tau = pick_threshold(scores, y)
    assert (scores[y == 1] >= tau).mean() >= TARGET_RECALL
    assert not np.isin(tau, scores)  # half way between two scores, never on one


def test_a_candidate_that_breaks_the_contract_loses_to_any_that_keeps_it():
    policy = CrisisPolicy("classifier", 0.5)
    keeps = Judged(policy, recall=0.5, precision=0.5, kept=True, worst_category=0.5)
    breaks = Judged(policy, recall=1.0, precision=1.0, kept=False, worst_category=1.0)
    assert keeps.key > breaks.key


def test_judge_all_tries_every_rule_and_reports_the_contract():
    val = dict(window_probs=[np.array([0.9]), np.array([0.1]), np.array([0.8])],
               window_cues=[[NONE], [NONE], [NEGATED]], y=np.array([1, 0, 0]),
               kinds=np.array(["explicit", "everyday", "negation"]), batches=np.array(["v3"] * 3),
               short=np.zeros(3, dtype=bool))
    contract = dict(window_probs=[np.array([0.8])], window_cues=[[NEGATED]], y=np.array([0]),
                    short=np.zeros(1, dtype=bool))
    judged = {(j.policy.rule, j.policy.veto_override): j for j in judge_all(val, contract)}
    assert judged[("classifier+veto", None)].kept and judged[("classifier+veto", None)].precision == 1.0
    assert not judged[("classifier", None)].kept  # the negated look-alike at p 0.8 would flag


def test_a_long_message_uses_its_own_threshold_chosen_as_high_as_recall_allows():
    from pipeline_lib.scoring.train.selection import pick_long_threshold

    policy = CrisisPolicy("classifier", 0.1, long_threshold=0.4)
    assert policy.judge(0.2, NONE)[0] and not policy.judge(0.2, NONE, long=True)[0]
    assert policy.judge(0.5, NONE, long=True)[0]
    assert CrisisPolicy.from_meta(policy.as_meta()) == policy
    y = np.array([1] * 40 + [0] * 10)
    long = np.array([True] * 20 + [False] * 20 + [True] * 10)
    scores = np.concatenate([np.linspace(0.6, 0.99, 20), np.full(20, 0.3), np.full(10, 0.2)])
    tau_long = pick_long_threshold(scores, y, long, tau=0.1)
    # above every long false alarm; recall 39/40 >= 0.97 lets it pass the lowest long crisis only
    assert 0.2 < tau_long < 0.63 and (scores[:20] >= tau_long).sum() >= 19
    assert pick_long_threshold(np.array([0.05, 0.3]), np.array([1, 0]), np.array([True, True]), 0.01) < 0.05
    # look-alike windows of everyday messages at 0.55-0.7, long crises at 0.85+: above 0.5, capped
    high = np.concatenate([np.linspace(0.85, 0.99, 20), np.full(20, 0.3), np.linspace(0.55, 0.7, 10)])
    assert 0.7 < pick_long_threshold(high, y, long, tau=0.1) < 0.86
    assert pick_long_threshold(np.full(50, 0.99), y, long, tau=0.1) <= 0.9


def test_a_short_message_without_a_current_cue_uses_its_own_threshold():
    from pipeline_lib.scoring.crisis_policy import is_short
    from pipeline_lib.scoring.crisis_cues import find_cues
    from pipeline_lib.scoring.train.selection import flag_messages, pick_short_threshold

    assert is_short("In the kitchen, I think.", [find_cues("In the kitchen, I think.")])
    assert not is_short("I want to kill myself", [find_cues("I want to kill myself")])  # a current cue
    words = "we walked the dog along the river and then had lunch"
    assert not is_short(words, [find_cues(words)])  # more than a few words
    policy = CrisisPolicy("classifier", 0.1, long_threshold=0.4, short_threshold=0.3)
    assert policy.judge(0.2, NONE)[0] and not policy.judge(0.2, NONE, short=True)[0]
    assert policy.judge(0.35, NONE, short=True)[0]
    assert CrisisPolicy.from_meta(policy.as_meta()) == policy
    # 30 crises (10 short at 0.6-0.9), 10 short everyday messages at 0.2: the short threshold rises
    # above them and stays below every short crisis.
    y = np.array([1] * 30 + [0] * 10)
    short = np.array([False] * 20 + [True] * 20)
    scores = np.concatenate([np.full(20, 0.8), np.linspace(0.6, 0.9, 10), np.full(10, 0.2)])
    tau_short = pick_short_threshold(scores, y, short, scores >= 0.1, 0.1)
    assert 0.2 < tau_short < 0.6
    chosen = CrisisPolicy("classifier", 0.1, short_threshold=tau_short)
    assert (flag_messages(scores, np.zeros(40, dtype=bool), short, chosen) == y.astype(bool)).all()
