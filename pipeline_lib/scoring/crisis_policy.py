"""The crisis policy: how a crisis probability and the lexicon's cues become a flag.

One typed value, chosen on the validation split by training and stored with the weights:

- rule "classifier": flag when p >= threshold; "cue_or_classifier": an explicit, current cue flags
  too (and then counts as risk 1). Either may add "+veto": a text whose cues the lexicon all set
  aside (negated, past, topic, idiom) with none current is not flagged ("I'm not suicidal, just
  tired"), unless p >= veto_override (a negation elsewhere can hide a real crisis the lexicon does
  not know: "not to be dramatic but I have the pills ready").
- A long message's windows may use a higher threshold (long_threshold), chosen on validation.
- A short message with no current cue (`is_short`: a few words, such as the everyday replies of a
  conversation, "at my desk", "since Friday") may need a higher threshold too (short_threshold,
  chosen on validation): it carries little information, and the low threshold the recall target
  forces would flag many of them.
- Without trained weights (rules only): any explicit or indirect current cue flags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_lib.scoring.crisis_cues import CrisisCues

CRISIS_RULES = ("cue_or_classifier", "classifier", "cue_or_classifier+veto", "classifier+veto")
VETO_OVERRIDES = (None, 0.995, 0.99, 0.98, 0.95, 0.9)  # None: the veto always holds
# (rule, override) pairs selection tries; the override only means something with a veto.
RULE_CANDIDATES = tuple((rule, override) for rule in CRISIS_RULES
                        for override in (VETO_OVERRIDES if rule.endswith("+veto") else (None,)))


SHORT_WORDS = 6  # fixed before looking at any score: a brief conversational reply


def is_short(text: str, window_cues: list[CrisisCues]) -> bool:
    """A message of at most SHORT_WORDS words (one window) in which the lexicon finds no current cue."""
    return (len(window_cues) == 1 and len(text.split()) <= SHORT_WORDS
            and not window_cues[0].any_current)


def vetoed(cues: CrisisCues) -> bool:
    """True when the lexicon found only set-aside cues (negated, past, topic, idiom), none current."""
    return not cues.any_current and (cues.negated + cues.past + cues.topic + cues.idioms) > 0


@dataclass(frozen=True)
class CrisisPolicy:
    rule: str
    threshold: float
    veto_override: float | None = None
    # A long message is judged window by window and flagged when any window is: with ten windows
    # there are ten chances of a false alarm, so its windows may need a higher threshold than a
    # short message (None: the same). Chosen on validation too.
    long_threshold: float | None = None
    # Short messages without a current cue (is_short) compare p with this (None: the threshold).
    short_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.rule not in CRISIS_RULES:
            raise ValueError(f"unknown crisis rule {self.rule!r}")
        if self.veto_override is not None and not self.rule.endswith("+veto"):
            raise ValueError("a veto override needs a '+veto' rule")

    @property
    def cue_flags(self) -> bool:
        return self.rule.startswith("cue_or_classifier")

    def tau(self, *, long: bool = False, short: bool = False) -> float:
        if long and self.long_threshold is not None:
            return self.long_threshold
        if short and self.short_threshold is not None:
            return self.short_threshold
        return self.threshold

    def flags(self, probs: np.ndarray, explicit: np.ndarray, veto: np.ndarray, *,
              long: bool = False, short: bool = False) -> np.ndarray:
        """Vectorised: probabilities, explicit-cue flags and lexicon vetoes -> flags; long: the
        texts are windows of a long message; short: short messages without a current cue."""
        probs = np.asarray(probs, dtype=np.float64)
        tau = self.tau(long=long, short=short)
        out = (np.asarray(explicit, dtype=bool) & self.cue_flags) | (probs >= tau)
        if self.rule.endswith("+veto"):
            holds = probs < self.veto_override if self.veto_override is not None else True
            out &= ~(np.asarray(veto, dtype=bool) & holds)
        return out

    def judge(self, prob: float, cues: CrisisCues, *, long: bool = False,
              short: bool = False) -> tuple[bool, float]:
        """(flag, risk) of one text (long: a window of a long message; short: see is_short): risk
        is p, or 1 when an explicit cue flags by itself."""
        flag = bool(self.flags(np.array([prob]), np.array([cues.explicit > 0]),
                               np.array([vetoed(cues)]), long=long, short=short)[0])
        return flag, (1.0 if self.cue_flags and cues.explicit > 0 else float(prob))

    def as_meta(self) -> dict:
        return {"rule": self.rule, "threshold": self.threshold, "veto_override": self.veto_override,
                "long_threshold": self.long_threshold, "short_threshold": self.short_threshold}

    @classmethod
    def from_meta(cls, meta: dict) -> "CrisisPolicy":
        return cls(meta["rule"], float(meta["threshold"]), meta.get("veto_override"),
                   meta.get("long_threshold"), meta.get("short_threshold"))
