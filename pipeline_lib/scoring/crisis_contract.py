"""What the served crisis flag must get right, whatever the numbers say: the issue's own examples.

These messages were written from the issue and the labelling guide when the lexicon was built (its
unit tests read them from here); they are not drawn from any split. Selection on the validation split
only considers a model, rule and threshold that keep this contract: an idiom, a negation or a
resolved past never raises the flag, a current or indirect cue always does. That is a requirement,
not a trade-off a precision figure may buy.
"""

from __future__ import annotations

IDIOMS = (
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
)
NEGATED = (
    "I'm not suicidal, just tired",
    "I'm not suicidal, just really tired",
    "I would never kill myself, I love my kids too much",
    "I don't want to hurt myself, I just need to vent",
    "no, I have no intention of ending my life",
    "I haven't hurt myself and I don't plan to",
)
PAST = (
    "I used to cut myself in high school, it has been years",
    "years ago I tried to end my life and I'm grateful I survived",
    "when I was 15 I was suicidal",
    "I self-harmed once in 2014 and have been okay since",
)
CURRENT = (
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
)
INDIRECT = (
    "I've been giving my things away, I won't need them",
    "I've been giving my things away to friends",
    "honestly I am just a burden to everyone",
    "I've been saying goodbye to everyone this week",
)

NOT_CRISIS = IDIOMS + NEGATED + PAST
CRISIS = CURRENT + INDIRECT


def contract_texts() -> tuple[list[str], list[int]]:
    """(texts, labels): every contract message and whether it must raise the flag."""
    return [*NOT_CRISIS, *CRISIS], [0] * len(NOT_CRISIS) + [1] * len(CRISIS)
