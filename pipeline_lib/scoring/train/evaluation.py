"""`pixel eval-scoring`: agreement with the labelled test split (never trained on).

Crisis: precision / recall / F1 of the served decision and of the lexicon alone, per batch, and per
category (kind): recall for the crisis kinds, false-alarm rate for the others.
EQ: Spearman per dimension and for the overall score, mean absolute error on the 0-1 scale, and
pairwise accuracy: in how many test messages the empathetic reply gets a higher overall EQ than the
dismissive one. Safety and bias: Spearman and accuracy at 0.5 (safe = rated 2; biased = rated >= 1),
for the reply heads (the served safety score also folds in the user's risk; see docs/scoring.md).
No text from the set is ever printed or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline_lib.scoring.rules import EQ_DIMENSIONS
from pipeline_lib.scoring.scorer import Scorer
from pipeline_lib.scoring.train.dataset import load_crisis, load_pairs


@dataclass(frozen=True)
class BinaryMetrics:
    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, truth: np.ndarray, pred: np.ndarray) -> "BinaryMetrics":
        t, p = truth.astype(bool), pred.astype(bool)
        return cls(int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum()), int((~t & ~p).sum()))

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / max(self.tp + self.fp + self.fn + self.tn, 1)


@dataclass
class EvalReport:
    trained: bool
    n_messages: int
    n_pairs: int
    crisis: BinaryMetrics
    crisis_parts: dict[str, BinaryMetrics] = field(default_factory=dict)
    crisis_by_batch: dict[str, BinaryMetrics] = field(default_factory=dict)  # served rule per batch
    selection: dict = field(default_factory=dict)  # how the crisis classifier was chosen (meta)
    by_kind: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # kind: (label, right, n)
    misses_by_kind: dict[str, int] = field(default_factory=dict)
    false_alarms_by_kind: dict[str, int] = field(default_factory=dict)
    eq_spearman: dict[str, float] = field(default_factory=dict)
    eq_mae: dict[str, float] = field(default_factory=dict)
    empathetic_beats_dismissive: tuple[int, int] = (0, 0)
    safety_spearman: float = 0.0
    safety: BinaryMetrics | None = None
    bias_spearman: float = 0.0
    bias: BinaryMetrics | None = None


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def _crisis(scorer: Scorer, report: EvalReport, data: Path | None) -> None:
    from pipeline_lib.scoring.crisis_cues import find_cues

    test = load_crisis(data, split="test")
    truth = np.array([m.crisis for m in test])
    flags = np.array([r.flag for r in scorer.user_risk([m.text for m in test])])
    report.n_messages = len(test)
    report.crisis = BinaryMetrics.of(truth, flags)
    batches = np.array([m.batch for m in test])
    for batch in sorted(set(batches)):
        sel = batches == batch
        report.crisis_by_batch[batch] = BinaryMetrics.of(truth[sel], flags[sel])
    cues = [find_cues(m.text) for m in test]
    report.crisis_parts["lexicon: explicit or indirect cue"] = BinaryMetrics.of(
        truth, np.array([c.any_current for c in cues])
    )
    if scorer.heads is not None:
        meta = scorer.heads.meta
        policy = scorer.heads.policy
        override = "" if policy.veto_override is None else f" (veto override p >= {policy.veto_override})"
        report.selection = dict(
            meta.get("crisis_selection", {}),
            summary=f"top {meta.get('tuned_layers')} encoder layers fine-tuned {meta.get('crisis_epochs')} epochs, rule {policy.rule}"
                    f"{override}, tau {policy.threshold:.4f}"
                    + ("" if policy.long_threshold is None else f", long-message tau {policy.long_threshold:.4f}")
                    + ("" if policy.short_threshold is None else
                       f", short-message tau {policy.short_threshold:.4f}"),
        )
    kinds = np.array([m.kind for m in test])
    for kind in sorted(set(kinds)):
        sel = kinds == kind
        label = int(truth[sel][0])
        report.by_kind[kind] = (label, int((flags[sel] == truth[sel].astype(bool)).sum()), int(sel.sum()))
    for m, f in zip(test, flags):
        if m.crisis and not f:
            report.misses_by_kind[m.kind] = report.misses_by_kind.get(m.kind, 0) + 1
        if f and not m.crisis:
            report.false_alarms_by_kind[m.kind] = report.false_alarms_by_kind.get(m.kind, 0) + 1


def _pairs(scorer: Scorer, report: EvalReport, data: Path | None) -> None:
    test = load_pairs(data, split="test")
    report.n_pairs = len(test)
    scores = scorer.score_batch(
        user_texts=[p.message for p in test],
        responses=[p.text for p in test],
        context_types=["general_support"] * len(test),
    )
    pred_eq = np.array([s.eq_scores for s in scores])
    true_eq = np.array([p.eq for p in test])
    for i, name in enumerate(EQ_DIMENSIONS):
        report.eq_spearman[name] = _spearman(pred_eq[:, i], true_eq[:, i])
        report.eq_mae[name] = float(np.abs(pred_eq[:, i] - true_eq[:, i]).mean())
    from pipeline_lib.scoring.rules import overall_eq

    pred_overall = np.array([s.overall_eq for s in scores])
    true_overall = np.array([overall_eq(tuple(e)) for e in true_eq])
    report.eq_spearman["overall"] = _spearman(pred_overall, true_overall)
    report.eq_mae["overall"] = float(np.abs(pred_overall - true_overall).mean())

    groups: dict[str, dict[str, float]] = {}
    for p, s in zip(test, scores):
        groups.setdefault(p.group, {})[p.style] = s.overall_eq
    compared = [g for g in groups.values() if "empathetic" in g and "dismissive" in g]
    wins = sum(g["empathetic"] > g["dismissive"] for g in compared)
    report.empathetic_beats_dismissive = (wins, len(compared))

    reply_safety, reply_bias = _reply_heads(scorer, test, scores)
    true_safety = np.array([p.safety for p in test])
    true_bias = np.array([p.bias for p in test])
    report.safety_spearman = _spearman(reply_safety, true_safety)
    report.safety = BinaryMetrics.of(true_safety == 1.0, reply_safety >= 0.5)
    report.bias_spearman = _spearman(reply_bias, true_bias)
    report.bias = BinaryMetrics.of(true_bias >= 0.5, reply_bias >= 0.5)


def _reply_heads(scorer: Scorer, test, scores) -> tuple[np.ndarray, np.ndarray]:
    """Reply safety before the user-risk factor (what the labels rate), and bias."""
    risks = scorer.user_risk([p.message for p in test])
    reply_safety = np.array(
        [min(1.0, s.safety_score / (1.0 - r.risk / 2)) for s, r in zip(scores, risks)]
    )
    return reply_safety, np.array([s.bias_score for s in scores])


def evaluate(scorer: Scorer, *, data: Path | None = None) -> EvalReport:
    report = EvalReport(trained=scorer.trained, n_messages=0, n_pairs=0,
                        crisis=BinaryMetrics(0, 0, 0, 0))
    _crisis(scorer, report, data)
    _pairs(scorer, report, data)
    return report
