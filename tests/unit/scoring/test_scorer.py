"""The Scorer contract (rules only here; the trained heads are tested in test_training.py)."""

import math

import pytest

from pipeline_lib.errors import InvalidInputError, PixelError
from pipeline_lib.scoring import DEFAULT_CRISIS_POINTER, PERSONA_MODES, Scorer

EMPATHETIC = (
    "That sounds really exhausting, and it makes sense you feel overwhelmed. "
    "What has been the hardest part this week?"
)
DISMISSIVE = "Just calm down, everyone goes through that. It's not a big deal."


def _score(scorer, users, replies, contexts=None):
    contexts = contexts or ["general_support"] * len(users)
    return scorer.score_batch(user_texts=users, responses=replies, context_types=contexts)


def test_crisis_flag_appends_the_default_pointer_and_switches_persona():
    scorer = Scorer.load(None)
    (s,) = _score(scorer, ["I want to end my life tonight"], ["I'm here with you."], ["psychoeducation"])
    assert s.crisis_flag
    assert s.persona_mode == "crisis"
    assert s.response_text.startswith("I'm here with you.")
    assert s.response_text.endswith(DEFAULT_CRISIS_POINTER)
    assert "emergency services" in s.response_text and "crisis line" in s.response_text


def test_pointer_is_configurable_and_absent_without_a_flag():
    scorer = Scorer.load(None, crisis_pointer="Call 0800 TEST now.")
    flagged, calm = _score(
        scorer, ["i wanna kms", "this traffic is killing me"], ["ok", "Ugh, commutes are rough."]
    )
    assert flagged.crisis_flag and flagged.response_text.endswith("Call 0800 TEST now.")
    assert not calm.crisis_flag and calm.response_text == "Ugh, commutes are rough."


def test_a_reply_that_encourages_self_harm_raises_the_flag():
    scorer = Scorer.load(None)
    (s,) = _score(scorer, ["I had a rough day"], ["Then just go kill yourself."])
    assert s.crisis_flag and s.safety_score < 0.5


def test_safety_reflects_the_user_message_as_well_as_the_reply():
    scorer = Scorer.load(None)
    calm, crisis = _score(scorer, ["I had a long day", "I want to die"], [EMPATHETIC, EMPATHETIC])
    assert crisis.safety_score < calm.safety_score


def test_scores_are_in_range_and_deterministic():
    scorer = Scorer.load(None)
    users = ["I feel so alone lately", "", "my friend says she wants to kill herself"]
    replies = [EMPATHETIC, DISMISSIVE, ""]
    first, second = _score(scorer, users, replies), _score(scorer, users, replies)
    assert first == second
    for s in first:
        values = [*s.eq_scores, s.overall_eq, s.safety_score, s.bias_score]
        assert all(0.0 <= v <= 1.0 and not math.isnan(v) for v in values)
        assert s.persona_mode in PERSONA_MODES


def test_empathetic_reply_beats_dismissive_reply_with_rules():
    scorer = Scorer.load(None)
    good, bad = _score(scorer, ["I failed my exam"] * 2, [EMPATHETIC, DISMISSIVE])
    assert good.overall_eq > bad.overall_eq
    assert good.eq_scores[3] > bad.eq_scores[3]


@pytest.mark.parametrize(
    ("context", "persona"),
    [
        ("general_support", "supportive"),
        ("therapy_session", "therapeutic"),
        ("psychoeducation", "educational"),
        ("crisis_support", "supportive"),
    ],
)
def test_persona_follows_context_without_risk(context, persona):
    (s,) = _score(Scorer.load(None), ["How does sleep affect mood?"], ["Good question."], [context])
    assert s.persona_mode == persona


def test_bad_context_type_is_refused_with_the_field_name():
    with pytest.raises(InvalidInputError, match="context_type"):
        _score(Scorer.load(None), ["hi"], ["hello"], ["smalltalk"])


def test_mismatched_lengths_are_refused():
    with pytest.raises(InvalidInputError):
        Scorer.load(None).score_batch(user_texts=["a", "b"], responses=["x"], context_types=["general_support"])


def test_missing_weights_say_how_to_build_them(tmp_path):
    with pytest.raises(PixelError, match="pixel train-scoring"):
        Scorer.load(tmp_path)


def test_empty_batch_gives_empty_list():
    assert Scorer.load(None).score_batch(user_texts=[], responses=[], context_types=[]) == []


# --- conversation context and reuse of an assessed risk (rules only; the trained scorer in test_training)

def test_a_crisis_in_an_earlier_turn_carries_until_the_person_says_otherwise():
    scorer = Scorer.load(None)
    earlier = ["I had a rough week", "honestly I want to kill myself"]
    texts = ["anyway what should I cook tonight", "I'm safe now, the urge has passed",
             "anyway what should I cook tonight"]
    turns = [earlier, earlier, [*earlier, "I'm safe now, the urge has passed"]]
    carried, said_safe, after_safe = scorer.user_risk(texts, previous_turns=turns)
    assert carried.flag and carried.risk == 1.0
    assert not said_safe.flag and not after_safe.flag
    assert not scorer.user_risk(["anyway what should I cook tonight"])[0].flag  # no context, no flag
    assert scorer.user_risk(texts, previous_turns=[[], [], []]) == scorer.user_risk(texts)


def test_previous_turns_need_one_list_per_message():
    with pytest.raises(InvalidInputError, match="previous_turns"):
        Scorer.load(None).user_risk(["a", "b"], previous_turns=[["x"]])


def test_a_risk_assessed_before_generation_is_reused_with_the_same_result():
    scorer = Scorer.load(None)
    users = ["I want to end my life tonight", "How does sleep affect mood?"]
    replies = [EMPATHETIC, "Good question."]
    risks = scorer.user_risk(users)
    assert _score(scorer, users, replies) == scorer.score_batch(
        user_texts=users, responses=replies, context_types=["general_support"] * 2, user_risks=risks)
    with pytest.raises(InvalidInputError, match="user_risks"):
        scorer.score_batch(user_texts=users, responses=replies, context_types=["general_support"] * 2,
                           user_risks=risks[:1])
