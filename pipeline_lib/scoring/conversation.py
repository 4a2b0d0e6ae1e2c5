"""Conversation context: a crisis disclosed in an earlier user turn keeps weighing on later turns.

Given the earlier user turns of a conversation (oldest first) and each turn's own assessment, the
current message is flagged when it is flagged itself, or when an earlier turn was flagged and no
turn since (the current one included) says otherwise. Saying otherwise is a turn whose crisis cues
the lexicon all set aside ("I'm not going to hurt myself"), or an explicit statement of safety
("I'm safe now", "the urge has passed"). Its risk is then at least the flagged turn's. Only the
last MAX_TURNS turns are read: a very long conversation costs a bounded amount per message.
"""

from __future__ import annotations

import re

from pipeline_lib.scoring.assessment import UserRisk
from pipeline_lib.scoring.crisis_cues import CrisisCues, normalise
from pipeline_lib.scoring.crisis_policy import vetoed

MAX_TURNS = 10

# Statements that a person is safe now; written from the wording, not from any split.
SAFE_NOW = re.compile(
    r"\b(i'm|i am|i feel|feeling|i'll be) (safe|okay now|ok now|fine now|better now|a lot better)\b"
    r"|\b(the )?(urges?|thoughts?|feelings?) (has|have) (passed|gone|eased)\b"
    r"|\bi (won't|will not|am not going to|'m not going to) (do it|hurt myself|do anything)\b"
    r"|\b(i've|i have) (called|rung|spoken to|talked to|texted) (the |a )?(crisis|helpline|hotline"
    r"|samaritans|my (gp|doctor|therapist|psychiatrist))"
)


def says_safe(text: str, cues: CrisisCues) -> bool:
    return vetoed(cues) or SAFE_NOW.search(normalise(text)) is not None


def carried(own: UserRisk, earlier: list[tuple[UserRisk, bool]], current_says_safe: bool) -> UserRisk:
    """own: the current message alone; earlier: (risk, says_safe) per earlier turn, oldest first."""
    if own.flag or current_says_safe:
        return own
    for risk, safe in reversed(earlier[-MAX_TURNS:]):
        if safe and not risk.flag:
            return own  # the person said otherwise after the last flagged turn
        if risk.flag:
            return UserRisk(True, max(own.risk, risk.risk))
    return own
