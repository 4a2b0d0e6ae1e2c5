"""The lexicon: idioms never fire, negations and past tense are set apart, spellings still match."""

import pytest

from pipeline_lib.scoring.crisis_cues import find_cues, normalise

IDIOMS = [
    "this traffic is killing me",
    "my feet are absolutely killing me after that shift",
    "I could die of embarrassment after what I said in the meeting",
    "I'm dying to see the new season",
    "that cake was to die for",
    "I was bored to death in that lecture",
    "my phone is dead again",
    "my mom is going to kill me when she sees my grades",
    "we killed it at the presentation today",
    "I'm dead tired after work",
    "that deadline is the death of me",
    "I overdosed on coffee this morning",
    "I cut myself a slice of cake",
    "ugh, shoot me now, another meeting",
]
NEGATED = [
    "I'm not suicidal, just really tired",
    "I would never kill myself, I love my kids too much",
    "I don't want to hurt myself, I just need to vent",
    "no, I have no intention of ending my life",
    "I haven't hurt myself and I don't plan to",
]
PAST = [
    "I used to cut myself in high school, it has been years",
    "years ago I tried to end my life and I'm grateful I survived",
    "when I was 15 I was suicidal",
    "I self-harmed once in 2014 and have been okay since",
]
CURRENT = [
    "I want to kill myself",
    "i want to su1c1de",
    "im gonna kms",
    "I feel s*icidal tonight",
    "I dont want to be here anymore",
    "my friend says she wants to kill herself",
    "I'm not okay, I want to die",
    "I would never kill myself but I wish I wouldnt wake up",
    "I tried to kill myself last week",
    "I used to cut myself and now I'm cutting myself again",
    "he hits me and I'm not safe at home",
    "I want to diiie",
    "ive been cuttin myself again",
    "i dnt want to live anymore",
    "I don't see why I should keep living",
    "my partner threatened to kill me if I leave",
]
INDIRECT = [
    "I've been giving my things away to friends",
    "honestly I am just a burden to everyone",
    "I've been saying goodbye to everyone this week",
]


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
