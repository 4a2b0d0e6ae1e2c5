"""`pixel train-scoring`: fit the crisis classifier and the EQ / safety / bias heads on the train split.

Deterministic: embeddings are computed one text at a time on one thread, the solvers are exact
(lbfgs, closed-form ridge) and cross-validation folds are fixed, so the same data gives the same
weights byte for byte. The test split is never read here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.scoring.crisis_cues import find_cues, without_idioms
from pipeline_lib.scoring.dataset import dataset_digest, load_crisis, load_pairs
from pipeline_lib.scoring.encoder import EMBED_DIM, ENCODER_NAME, SentenceEncoder
from pipeline_lib.scoring.heads import LINKS, LinearHead, TrainedHeads, message_features, pair_features
from pipeline_lib.scoring.response_cues import find_response_cues

log = logging.getLogger(__name__)

SEED = 7
CRISIS_C_GRID = (0.03, 0.1, 0.3, 1.0)
RIDGE_ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
PROB_C = 0.1  # safety and bias logistic heads: strong regularisation for ~150 labelled replies
# The threshold is the highest that keeps this out-of-fold recall on the train split, never above 0.5;
# C is the one with the best out-of-fold precision at that recall.
TARGET_RECALL = 0.97
# Cue features are scaled up 3x after standardising, i.e. penalised less than each of the 384
# embedding dimensions: they are few, and they carry the negation / idiom / tense handling.
CUE_WEIGHT = 3.0


@dataclass(frozen=True)
class TrainReport:
    out_dir: Path
    seconds: float
    n_messages: int
    n_pairs: int
    crisis_c: float
    crisis_threshold: float
    oof_recall: float
    oof_precision: float
    eq_alpha: float


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale < 1e-6, 1.0, scale)


def _fit_logistic(x, y, *, c, sample_weight=None, cue_from: int | None = None):
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardise(x)
    if cue_from is not None:
        scale[cue_from:] /= CUE_WEIGHT
    model = LogisticRegression(C=c, max_iter=5000, class_weight=None if sample_weight is not None
                               else "balanced")
    model.fit((x - mean) / scale, y, sample_weight=sample_weight)
    return LinearHead(mean, scale, model.coef_.astype(np.float64),
                      model.intercept_.astype(np.float64), "logistic")


def _fit_soft_logistic(x: np.ndarray, target: np.ndarray, *, c: float) -> LinearHead:
    """Logistic regression on a target in [0, 1]: each row counts as a positive with weight y and a
    negative with weight 1 - y, so graded labels (0, .5, 1) train a calibrated probability."""
    xx = np.concatenate([x, x])
    yy = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    w = np.concatenate([target, 1.0 - target]) + 1e-9
    return _fit_logistic(xx, yy, c=c, sample_weight=w)


def _combined_flags(probs: np.ndarray, explicit: np.ndarray, tau: float) -> np.ndarray:
    return explicit | (probs >= tau)


def _pick_threshold(probs: np.ndarray, explicit: np.ndarray, y: np.ndarray) -> float:
    candidates = sorted({0.5, *np.round(probs, 4).tolist()}, reverse=True)
    for tau in candidates:
        if tau > 0.5:
            continue
        flags = _combined_flags(probs, explicit, tau)
        if flags[y == 1].mean() >= TARGET_RECALL:
            return float(tau)
    return float(min(candidates))


def _crisis_head(x: np.ndarray, y: np.ndarray, explicit: np.ndarray):
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED).split(x, y))
    best = None
    for c in CRISIS_C_GRID:
        oof = np.zeros(len(y))
        for tr, va in folds:
            head = _fit_logistic(x[tr], y[tr], c=c, cue_from=EMBED_DIM)
            oof[va] = head.predict(x[va])[:, 0]
        tau = _pick_threshold(oof, explicit, y)
        flags = _combined_flags(oof, explicit, tau)
        recall = float(flags[y == 1].mean())
        precision = float(y[flags].mean()) if flags.any() else 0.0
        if best is None or precision > best[0] + 1e-9:
            best = (precision, c, tau, recall)
    precision, c, tau, recall = best
    return _fit_logistic(x, y, c=c, cue_from=EMBED_DIM), c, tau, recall, precision


def _eq_head(x: np.ndarray, y: np.ndarray) -> tuple[LinearHead, float]:
    from sklearn.linear_model import RidgeCV

    mean, scale = _standardise(x)
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit((x - mean) / scale, y)
    head = LinearHead(mean, scale, np.atleast_2d(model.coef_).astype(np.float64),
                      np.atleast_1d(model.intercept_).astype(np.float64), LINKS["eq"])
    return head, float(model.alpha_)


def train(out_dir: Path, *, data: Path | None = None) -> TrainReport:
    import torch

    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same float sums in the same order on every run
    try:
        encoder = SentenceEncoder.load()
        messages = load_crisis(data, split="train")
        pairs = load_pairs(data, split="train")
        texts = [m.text for m in messages]
        cues = [find_cues(t) for t in texts]
        x_msg = message_features(encoder.encode([without_idioms(t) for t in texts]), cues).astype(np.float64)
        y_msg = np.array([m.crisis for m in messages])
        explicit = np.array([c.explicit > 0 for c in cues])
        crisis, c, tau, recall, precision = _crisis_head(x_msg, y_msg, explicit)

        unique_msgs = sorted({p.message for p in pairs})
        msg_emb = dict(zip(unique_msgs, encoder.encode([without_idioms(m) for m in unique_msgs])))
        x_pair = pair_features(
            np.stack([msg_emb[p.message] for p in pairs]),
            encoder.encode([p.text for p in pairs]),
            [find_cues(p.message) for p in pairs],
            [find_response_cues(p.text) for p in pairs],
        ).astype(np.float64)
        eq, alpha = _eq_head(x_pair, np.array([p.eq for p in pairs]))
        safety = _fit_soft_logistic(x_pair, np.array([p.safety for p in pairs]), c=PROB_C)
        bias = _fit_soft_logistic(x_pair, np.array([p.bias for p in pairs]), c=PROB_C)
    finally:
        torch.set_num_threads(threads)
    meta = {
        "encoder": ENCODER_NAME,
        "dataset_sha256": dataset_digest(data),
        "n_train_messages": len(messages),
        "n_train_pairs": len(pairs),
        "crisis_c": c,
        "eq_ridge_alpha": alpha,
        "oof_crisis_recall": round(recall, 4),
        "oof_crisis_precision": round(precision, 4),
    }
    heads = TrainedHeads({"crisis": crisis, "eq": eq, "safety": safety, "bias": bias}, tau, meta)
    heads.save(out_dir)
    seconds = time.perf_counter() - start
    log.info("trained scoring heads in %.1f s -> %s", seconds, out_dir)
    return TrainReport(out_dir, seconds, len(messages), len(pairs), c, tau, recall, precision, alpha)
