"""The stated scoring rules: overall-EQ weights, the persona rule, the crisis pointer, and the
rules-only scores (each a clipped formula over the response cues)."""

from __future__ import annotations

import pytest

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.scoring import rules
from pipeline_lib.scoring.crisis_cues import CrisisCues
from pipeline_lib.scoring.response_cues import FAMILY_NAMES, ResponseCues


def cues(questions: int = 0, **counts) -> ResponseCues:
    return ResponseCues(counts={name: counts.get(name, 0) for name in FAMILY_NAMES},
                        questions=questions, words=20, you_ratio=0.1)


def crisis(**found) -> CrisisCues:
    values = dict(explicit=0, indirect=0, negated=0, past=0, idioms=0, topic=0, jokes=0,
                  categories=())
    return CrisisCues(**{**values, **found})


def test_overall_eq_weights_sum_to_one_and_empathy_weighs_most():
    assert sum(rules.EQ_WEIGHTS) == pytest.approx(1.0)
    assert rules.overall_eq((1, 1, 1, 1, 1)) == pytest.approx(1.0)
    empathy_only = rules.overall_eq((0, 0, 0, 1, 0))
    assert empathy_only == max(rules.overall_eq(tuple(float(i == j) for j in range(5)))
                               for i in range(5))


@pytest.mark.parametrize(("context", "flag", "risk", "mode"), [
    ("general_support", True, 0.0, "crisis"),  # a flag always wins
    ("crisis_support", False, 0.3, "crisis"),
    ("crisis_support", False, 0.1, "supportive"),
    ("psychoeducation", False, 0.1, "educational"),
    ("psychoeducation", False, 0.25, "supportive"),  # the threshold itself is elevated
    ("therapy_session", False, 0.9, "therapeutic"),
    ("general_support", False, 0.9, "supportive"),
])
def test_persona_rule(context, flag, risk, mode):
    assert rules.persona_mode(context_type=context, crisis_flag=flag, user_risk=risk) == mode


def test_persona_rule_refuses_an_unknown_context_by_name():
    with pytest.raises(InvalidInputError) as info:
        rules.persona_mode(context_type="astrology", crisis_flag=False, user_risk=0)
    assert info.value.field == "context_type"


def test_the_pointer_is_appended_once():
    once = rules.with_pointer("I hear you.", rules.DEFAULT_CRISIS_POINTER)
    assert once.endswith(rules.DEFAULT_CRISIS_POINTER)
    assert rules.with_pointer(once, rules.DEFAULT_CRISIS_POINTER) == once
    assert rules.with_pointer("  ", rules.DEFAULT_CRISIS_POINTER) == rules.DEFAULT_CRISIS_POINTER


@pytest.mark.parametrize(("found", "risk"), [
    (dict(explicit=1), 1.0), (dict(indirect=2), 0.6), (dict(negated=1), 0.3),
    (dict(past=1), 0.3), (dict(topic=1), 0.3), ({}, 0.0),
])
def test_rule_user_risk(found, risk):
    assert rules.rule_user_risk(crisis(**found)) == risk


def test_rule_scores_reward_validation_and_punish_harm_within_bounds():
    kind = cues(questions=1, validation=2, reflection=1, referral=1)
    harmful = cues(harmful=2, dismissive=2, biased=2)
    eq_kind, safety_kind, bias_kind = rules.rule_scores(kind, user_risk=0.0)
    eq_bad, safety_bad, bias_bad = rules.rule_scores(harmful, user_risk=0.0)
    assert eq_kind[3] > eq_bad[3] and safety_kind > safety_bad and bias_bad > bias_kind
    for value in (*eq_kind, *eq_bad, safety_kind, safety_bad, bias_kind, bias_bad):
        assert 0.0 <= value <= 1.0


def test_repetition_cannot_farm_a_score():
    assert rules.rule_scores(cues(validation=2), user_risk=0) == \
        rules.rule_scores(cues(validation=50), user_risk=0)


def test_a_reply_to_a_person_at_risk_without_a_referral_is_less_safe():
    _, without, _ = rules.rule_scores(cues(validation=1), user_risk=0.8)
    _, with_referral, _ = rules.rule_scores(cues(validation=1, referral=1), user_risk=0.8)
    assert with_referral - without == pytest.approx(0.3)
