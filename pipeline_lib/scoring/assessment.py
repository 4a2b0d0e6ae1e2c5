"""A user message -> its crisis assessment: every window judged, combined by the highest risk.

Each window (segments.windows) is judged like a message of its own: the classifier's p on its
idiom-blanked text, and the policy with that window's own cues, so a negation or a past tense
vetoes only the cue it belongs to ("I'm not suicidal" in one sentence cannot silence "I have the
pills ready" three sentences later, nor the reverse). The message is flagged when any window is;
its risk is the highest window risk. A short message is one window: judged whole, with the
policy's short-message threshold when the lexicon finds no current cue in it (crisis_policy.is_short).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_lib.scoring.crisis_cues import CrisisCues, find_cues, without_idioms
from pipeline_lib.scoring.crisis_model import probability
from pipeline_lib.scoring.crisis_policy import CrisisPolicy, is_short
from pipeline_lib.scoring.segments import windows


@dataclass(frozen=True)
class UserRisk:
    flag: bool
    risk: float  # crisis probability in [0, 1] (1 for an explicit cue that flags by itself)


def combine(judged: list[tuple[bool, float]]) -> UserRisk:
    return UserRisk(any(f for f, _ in judged), max(r for _, r in judged))


@dataclass(frozen=True)
class Window:
    text: str  # idiom-blanked, what the encoder reads
    cues: CrisisCues


def message_windows(text: str) -> list[Window]:
    return [Window(without_idioms(w), find_cues(w)) for w in windows(text)]


class MessageAssessor:
    """Encoder + crisis parameters + policy; `assess` returns the risk and, for a one-window
    message, its lower-layer states (the EQ heads reuse them instead of encoding it again)."""

    def __init__(self, *, encoder, params: dict, policy: CrisisPolicy) -> None:
        self.encoder, self.params, self.policy = encoder, params, policy

    def window_probability(self, window: Window, states=None) -> float:
        return probability(self.params, self.encoder.lower(window.text) if states is None else states,
                           window.cues, window.text)

    def assess(self, text: str):
        parts = message_windows(text)
        short = is_short(text, [w.cues for w in parts])
        judged, first_states = [], None
        for w in parts:
            states = self.encoder.lower(w.text)
            if first_states is None:
                first_states = states
            judged.append(self.policy.judge(self.window_probability(w, states), w.cues,
                                            long=len(parts) > 1, short=short))
        return combine(judged), (first_states if len(parts) == 1 else None)
