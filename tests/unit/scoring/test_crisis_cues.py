"""The lexicon: idioms never fire, negations and past tense are set apart, spellings still match."""

import pytest

from pipeline_lib.scoring import crisis_contract as contract
from pipeline_lib.scoring.crisis_cues import find_cues, normalise

# The contract the served flag keeps (selection enforces it too); the lexicon must handle it alone.
IDIOMS, NEGATED, PAST, CURRENT, INDIRECT = (
    contract.IDIOMS, contract.NEGATED, contract.PAST, contract.CURRENT, contract.INDIRECT)


@pytest.mark.parametrize("i", range(len(IDIOMS)))
def test_idioms_never_fire(i):
    cues = find_cues(IDIOMS[i])
    assert not cues.any_current
    assert cues.idioms >= 1


@pytest.mark.parametrize("i", range(len(NEGATED)))
def test_negated_cues_are_set_apart(i):
    cues = find_cues(NEGATED[i])
    assert not cues.any_current
    assert cues.negated >= 1


@pytest.mark.parametrize("i", range(len(PAST)))
def test_past_cues_are_set_apart(i):
    cues = find_cues(PAST[i])
    assert not cues.any_current
    assert cues.past >= 1


@pytest.mark.parametrize("i", range(len(CURRENT)))
def test_current_explicit_cues_fire(i):
    assert find_cues(CURRENT[i]).explicit >= 1


@pytest.mark.parametrize("i", range(len(INDIRECT)))
def test_indirect_cues_fire(i):
    cues = find_cues(INDIRECT[i])
    assert cues.indirect >= 1
    assert cues.explicit == 0


def test_an_idiom_does_not_hide_a_real_cue_in_the_same_message():
    cues = find_cues("this traffic is killing me and honestly I want to end my life")
    assert cues.idioms == 1 and cues.explicit == 1


def test_third_person_is_its_own_category():
    assert find_cues("my brother keeps saying he wants to end his life").categories == ("third_person",)


def test_topic_mentions_are_not_current():
    cues = find_cues("I'm writing an essay on suicide prevention for class")
    assert not cues.any_current and cues.topic == 1


def test_normalise_handles_leetspeak_and_contractions():
    assert normalise("I WANT to K1ll myself, I cant") == "i want to kill myself, i can't"


def test_features_are_bounded():
    feats = find_cues("kill myself kill myself kill myself. end my life. suicide").as_features()
    assert all(0.0 <= f <= 1.0 for f in feats)


def test_questions_about_the_topic_are_not_current():
    for text in ("why do people self harm", "how common is suicide among students"):
        cues = find_cues(text)
        assert not cues.any_current and cues.topic >= 1


def test_joke_markers_are_a_feature_and_never_cancel_a_cue():
    cues = find_cues("lol I actually want to kill myself")
    assert cues.jokes == 1 and cues.explicit == 1
    assert cues.as_features()[-1] == 1.0
