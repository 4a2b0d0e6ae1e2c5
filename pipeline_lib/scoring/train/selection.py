"""Choosing the crisis policy (rule, veto override, threshold) and the epoch, on validation only.

Why a separate split: the lexicon was written while reading the train split's misses, so on train
the cue features look nearly perfect. The validation split (batches v3, v5 and the validation
parts of v6-v12) was written after the lexicon was frozen; it decides, and only decides:

- the fine-tuning epoch (finetune.CANDIDATE_EPOCHS);
- the rule and the veto override (crisis_policy.RULE_CANDIDATES);
- tau: the highest threshold (<= MAX_THRESHOLD) that keeps validation recall >= TARGET_RECALL,
  moved half way (in logit space) towards the next lower validation score, a free margin;
- then the threshold for the windows of long messages: as high as it can go (<= MAX_LONG_THRESHOLD)
  with recall still >= TARGET_RECALL (many windows are many chances of a false alarm, and a
  look-alike sentence of an everyday message, read without the rest, scores like a crisis: at a
  cap of 0.5 the cap itself decided);
- then, the same way, the threshold for short messages without a current cue
  (crisis_policy.is_short: brief conversational replies carry little information).

Every candidate is judged on whole messages exactly as served (assessment: every window, combined
by the highest risk). Key, in order: keeps the contract (crisis_contract: the issue's idioms,
negations and past never flag, current and indirect cues always do); reaches the recall target;
every batch-v6..v12 category on validation at least CATEGORY_TARGET right; then precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_lib.scoring.crisis_policy import RULE_CANDIDATES, CrisisPolicy, vetoed

TARGET_RECALL = 0.97  # on validation; the acceptance bar on test is 0.95, this leaves margin
CATEGORY_TARGET = 0.90
CATEGORY_BATCHES = ("v6", "v7", "v8", "v9", "v10", "v11", "v12")  # the batches written for named categories
MAX_THRESHOLD = 0.5
MAX_LONG_THRESHOLD = 0.9  # still below the p of the windows that carry a long crisis (validation)


@dataclass(frozen=True)
class Judged:
    policy: CrisisPolicy
    recall: float
    precision: float
    kept: bool  # every contract message flagged exactly as it must be
    worst_category: float  # lowest share right among the CATEGORY_BATCHES categories on validation

    @property
    def key(self) -> tuple:
        reached = self.recall >= TARGET_RECALL
        return (self.kept, reached, self.worst_category >= CATEGORY_TARGET,
                self.precision if reached else self.recall)


def message_scores(window_probs: list[np.ndarray], window_cues: list[list], rule: str,
                   override: float | None) -> np.ndarray:
    """Per message, the threshold at which the policy starts to flag it: +inf when a window is
    flagged by its cue alone, -inf when no window can flag (all vetoed), else the highest p among
    windows the veto does not hold. Then `score >= tau` is exactly `assessment`'s flag."""
    probe = CrisisPolicy(rule, 2.0, override)  # tau above any p: only cue flags remain (long or not)
    out = np.full(len(window_probs), -np.inf)
    for i, (probs, cues) in enumerate(zip(window_probs, window_cues)):
        for p, c in zip(probs, cues):
            if probe.judge(float(p), c)[0]:
                out[i] = np.inf
                break
            veto_holds = rule.endswith("+veto") and vetoed(c) and (override is None or p < override)
            if not veto_holds:
                out[i] = max(out[i], float(p))
    return out


def _recall_precision(flags: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    recall = float(flags[y == 1].mean()) if (y == 1).any() else 0.0
    return recall, (float(y[flags].mean()) if flags.any() else 0.0)


def pick_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """Highest tau <= MAX_THRESHOLD with recall >= TARGET_RECALL, then half way (logit space) to
    the next lower score, so no validation message sits on the boundary."""
    finite = sorted({float(s) for s in scores if np.isfinite(s) and s <= MAX_THRESHOLD}
                    | {MAX_THRESHOLD}, reverse=True)
    for i, tau in enumerate(finite):
        if _recall_precision(scores >= tau, y)[0] >= TARGET_RECALL:
            if i + 1 < len(finite):
                lo, hi = (np.log(v) - np.log1p(-v) for v in (max(finite[i + 1], 1e-12), tau))
                return float(1.0 / (1.0 + np.exp(-(lo + hi) / 2)))
            return tau
    return max(finite[-1], 1e-6)


def raise_threshold(scores: np.ndarray, y: np.ndarray, subset: np.ndarray, other_flags: np.ndarray,
                    floor: float, cap: float = MAX_THRESHOLD) -> float:
    """The highest threshold (<= cap) for the messages in `subset` (the others flagged as
    other_flags) that keeps validation recall >= TARGET_RECALL, half way (logit space) to the next
    lower score in the subset. Never below floor."""
    finite = sorted({float(s) for s in scores[subset] if np.isfinite(s) and floor < s <= cap}
                    | {cap}, reverse=True)
    for i, t in enumerate(finite):
        flags = np.where(subset, scores >= t, other_flags)
        if _recall_precision(flags, y)[0] >= TARGET_RECALL:
            lower = finite[i + 1] if i + 1 < len(finite) else floor
            lo, hi = (np.log(v) - np.log1p(-v) for v in (max(lower, 1e-12), t))
            return float(1.0 / (1.0 + np.exp(-(lo + hi) / 2)))
    return floor


def pick_long_threshold(scores: np.ndarray, y: np.ndarray, long: np.ndarray, tau: float) -> float:
    """With tau fixed for short messages: the threshold for the windows of long messages."""
    return raise_threshold(scores, y, long, scores >= tau, tau, MAX_LONG_THRESHOLD)


def pick_short_threshold(scores: np.ndarray, y: np.ndarray, short: np.ndarray,
                         other_flags: np.ndarray, tau: float) -> float:
    """With the other thresholds fixed: the threshold for short messages without a current cue."""
    return raise_threshold(scores, y, short, other_flags, tau)


def category_accuracy(flags: np.ndarray, y: np.ndarray, kinds: np.ndarray, batches: np.ndarray,
                      batch: tuple[str, ...] = CATEGORY_BATCHES) -> dict[str, float]:
    """Share right per kind among the rows of the named-category batches."""
    sel = np.isin(batches, batch)
    return {k: float((flags[sel & (kinds == k)] == y[sel & (kinds == k)].astype(bool)).mean())
            for k in sorted(set(kinds[sel]))}


def flag_messages(scores: np.ndarray, long: np.ndarray, short: np.ndarray,
                  policy: CrisisPolicy) -> np.ndarray:
    """Message scores (message_scores) -> the served flags, each message with its own threshold."""
    tau = np.where(long, policy.tau(long=True), np.where(short, policy.tau(short=True), policy.threshold))
    return scores >= tau


def judge_all(val: dict, contract: dict) -> list[Judged]:
    """val / contract: dicts of window_probs, window_cues, y, short (crisis_policy.is_short per
    message) and for val: kinds, batches."""
    out = []
    long = np.array([len(p) > 1 for p in val["window_probs"]])
    con_long = np.array([len(p) > 1 for p in contract["window_probs"]])
    for rule, override in RULE_CANDIDATES:
        scores = message_scores(val["window_probs"], val["window_cues"], rule, override)
        tau = pick_threshold(scores, val["y"])
        tau_long = pick_long_threshold(scores, val["y"], long, tau)
        without_short = np.where(long, scores >= tau_long, scores >= tau)
        tau_short = pick_short_threshold(scores, val["y"], val["short"], without_short, tau)
        policy = CrisisPolicy(rule, tau, override, tau_long, tau_short)
        flags = flag_messages(scores, long, val["short"], policy)
        recall, precision = _recall_precision(flags, val["y"])
        cats = category_accuracy(flags, val["y"], val["kinds"], val["batches"])
        con_scores = message_scores(contract["window_probs"], contract["window_cues"], rule, override)
        con = flag_messages(con_scores, con_long, contract["short"], policy)
        kept = bool((con == contract["y"].astype(bool)).all())
        out.append(Judged(policy, recall, precision, kept, min(cats.values(), default=1.0)))
    return out
