"""Choosing the crisis classifier on the validation split (batches v3 + v5), never on train or test.

Why a separate split: the lexicon was written while reading the train split's misses, so on train the
cue features look nearly perfect and cross-validation there prefers models that lean on them and a
threshold that is too strict for wording the lexicon never saw. The validation split was written
after the lexicon was frozen; it decides, and only decides:

- the model: logistic regression on the message embedding alone ("embedding"), on the embedding plus
  the cue features scaled by a weight ("cues"), or the mean of those two models' logits ("ensemble",
  still one linear head);
- its L2 strength C and the cue weight;
- the rule: "classifier" (p >= tau) or "cue_or_classifier" (an explicit cue also flags), each
  with or without "+veto" (no flag when every cue the lexicon found was negated, past, topic or an
  idiom and none is current);
- with "+veto", the override: a vetoed message is still flagged when the classifier is at least this
  sure (VETO_OVERRIDES; None = never), since a negation elsewhere in a message can hide a real
  crisis the lexicon does not know ("not to be dramatic but I have the pills ready");
- tau: the highest threshold (<= 0.5) that keeps validation recall >= TARGET_RECALL, moved half way
  (in logit space) towards the next lower validation score, a free margin for unseen text.
Among candidates that reach the recall, the best validation precision wins (grid order on a tie).

Weights are always fitted on the train split only. Platt calibration comes from 5-fold out-of-fold
logits on train (a monotone map, so it never changes which messages a threshold flags).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_lib.scoring.encoder import EMBED_DIM
from pipeline_lib.scoring.heads import LinearHead

SEED = 7
TARGET_RECALL = 0.97  # on validation; the acceptance bar on test is 0.95, this leaves margin
MAX_THRESHOLD = 0.5
CRISIS_C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
# Cue features are multiplied by this weight after standardising (0: not used at all); below 1 they
# are penalised more than an embedding dimension, above 1 less.
CUE_WEIGHT_GRID = (0.0, 0.3, 1.0, 3.0)
CRISIS_MODELS = ("embedding", "cues", "ensemble")
# "+veto": a message whose cues the lexicon all set aside (negated, past, topic, idiom) and that has
# no current cue is not flagged whatever p says ("I'm not suicidal, just tired").
CRISIS_RULES = ("cue_or_classifier", "classifier", "cue_or_classifier+veto", "classifier+veto")
# "+veto" with an override o: the veto holds only while p < o (None: always). Chosen on validation,
# and only where the contract (crisis_contract) still holds.
VETO_OVERRIDES = (None, 0.995, 0.99, 0.98, 0.95, 0.9)
# (rule, override) pairs the fine-tuned selection tries; the override only means something with a veto.
RULE_CANDIDATES = tuple((rule, override) for rule in CRISIS_RULES
                        for override in (VETO_OVERRIDES if rule.endswith("+veto") else (None,)))


@dataclass(frozen=True)
class CrisisSelection:
    head: LinearHead  # calibrated: predict() gives the served probability
    threshold: float
    model: str
    c: float
    cue_weight: float
    rule: str
    platt: tuple[float, float]
    validation_recall: float
    validation_precision: float
    oof_recall: float  # out-of-fold on train at the same threshold (optimistic; for the record)
    oof_precision: float
    n_candidates: int


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale < 1e-6, 1.0, scale)


def _fit(x: np.ndarray, y: np.ndarray, *, c: float, cue_weight: float) -> LinearHead:
    """Balanced logistic regression over (embedding, cues); cue_weight 0 fits the embedding alone
    and leaves zero coefficients on the cue columns, so every head has the same layout."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardise(x)
    cols = x.shape[1] if cue_weight > 0 else EMBED_DIM
    if cue_weight > 0:
        scale[EMBED_DIM:] /= cue_weight
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(((x - mean) / scale)[:, :cols], y)
    coef = np.zeros((1, x.shape[1]))
    coef[:, :cols] = model.coef_
    return LinearHead(mean, scale, coef, model.intercept_.astype(np.float64), "logistic")


def _logits(head: LinearHead, x: np.ndarray) -> np.ndarray:
    return (((x - head.mean) / head.scale) @ head.coef.T + head.intercept)[:, 0]


def _mean_head(a: LinearHead, b: LinearHead) -> LinearHead:
    """One head whose logit is the mean of two heads' logits (`a` must be the embedding-only one:
    its cue coefficients are zero, so `b`'s standardisation serves both)."""
    coef_a = a.coef * (b.scale / a.scale)  # same columns, re-expressed in b's scale (1 on embeddings)
    return LinearHead(b.mean, b.scale, (coef_a + b.coef) / 2, (a.intercept + b.intercept) / 2, "logistic")


def _platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, max_iter=5000).fit(logits.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def flags_for(
    probs: np.ndarray, explicit: np.ndarray, tau: float, rule: str, vetoed: np.ndarray | None = None,
    override: float | None = None,
) -> np.ndarray:
    flags = (explicit & rule.startswith("cue_or_classifier")) | (probs >= tau)
    if rule.endswith("+veto") and vetoed is not None:
        flags &= ~(vetoed & (probs < override if override is not None else True))
    return flags


def vetoed(cues) -> bool:
    """True when the lexicon found only set-aside cues (negated, past, topic, idiom), none current."""
    return not cues.any_current and (cues.negated + cues.past + cues.topic + cues.idioms) > 0


def _recall_precision(flags: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    recall = float(flags[y == 1].mean())
    return recall, float(y[flags].mean()) if flags.any() else 0.0


def pick_threshold(
    probs: np.ndarray, explicit: np.ndarray, y: np.ndarray, rule: str, veto: np.ndarray | None = None,
    override: float | None = None,
) -> float:
    """Highest tau <= MAX_THRESHOLD with recall >= TARGET_RECALL, then half way (logit space) to the
    next lower score, so no validation message sits on the boundary."""
    scores = sorted({float(p) for p in probs if p <= MAX_THRESHOLD} | {MAX_THRESHOLD}, reverse=True)
    for i, tau in enumerate(scores):
        if _recall_precision(flags_for(probs, explicit, tau, rule, veto, override), y)[0] >= TARGET_RECALL:
            if i + 1 < len(scores):
                lo, hi = np.log([scores[i + 1], tau]) - np.log1p(-np.array([scores[i + 1], tau]))
                return float(_sigmoid(np.array((lo + hi) / 2)))
            return tau
    return scores[-1]


@dataclass(frozen=True)
class Judged:
    """One (rule, override) on one set of probabilities: its threshold, figures and selection key."""
    threshold: float
    recall: float
    precision: float
    kept: bool  # every contract message flagged exactly as it must be

    @property
    def key(self) -> tuple:
        """Contract first, then reaching the recall target, then precision (recall if short)."""
        reached = self.recall >= TARGET_RECALL
        return (self.kept, reached, self.precision if reached else self.recall)


def judge(probs, explicit, y, veto, rule: str, override: float | None, contract) -> Judged:
    """Pick tau on (probs, explicit, y, veto) for the rule and override, and check the contract:
    `contract` is (probs, explicit, veto, truth) for the crisis_contract messages."""
    tau = pick_threshold(probs, explicit, y, rule, veto, override)
    recall, precision = _recall_precision(flags_for(probs, explicit, tau, rule, veto, override), y)
    con_probs, con_explicit, con_veto, con_truth = contract
    kept = bool((flags_for(con_probs, con_explicit, tau, rule, con_veto, override) == con_truth).all())
    return Judged(tau, recall, precision, kept)


def select_crisis(
    x_train: np.ndarray, y_train: np.ndarray, explicit_train: np.ndarray, veto_train: np.ndarray,
    x_val: np.ndarray, y_val: np.ndarray, explicit_val: np.ndarray, veto_val: np.ndarray,
) -> CrisisSelection:
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED).split(x_train, y_train))

    def fitted(c: float, w: float) -> tuple[LinearHead, np.ndarray]:
        oof = np.zeros(len(y_train))
        for tr, va in folds:
            oof[va] = _logits(_fit(x_train[tr], y_train[tr], c=c, cue_weight=w), x_train[va])
        return _fit(x_train, y_train, c=c, cue_weight=w), oof

    best, n = None, 0
    for c in CRISIS_C_GRID:
        emb_head, emb_oof = fitted(c, 0.0)
        candidates = [("embedding", 0.0, emb_head, emb_oof)]
        for w in CUE_WEIGHT_GRID:
            if w > 0:
                cue_head, cue_oof = fitted(c, w)
                candidates.append(("cues", w, cue_head, cue_oof))
                candidates.append(("ensemble", w, _mean_head(emb_head, cue_head), (emb_oof + cue_oof) / 2))
        for model, w, head, oof in candidates:
            a, b = _platt(oof, y_train)
            head = LinearHead(head.mean, head.scale, head.coef * a, head.intercept * a + b, "logistic")
            val_probs = head.predict(x_val)[:, 0]
            oof_probs = _sigmoid(a * oof + b)
            for rule in CRISIS_RULES:
                n += 1
                tau = pick_threshold(val_probs, explicit_val, y_val, rule, veto_val)
                recall, precision = _recall_precision(
                    flags_for(val_probs, explicit_val, tau, rule, veto_val), y_val
                )
                reached = recall >= TARGET_RECALL
                key = (reached, precision if reached else recall)
                if best is None or key > best[0]:
                    oof = _recall_precision(
                        flags_for(oof_probs, explicit_train, tau, rule, veto_train), y_train
                    )
                    best = (key, dict(head=head, threshold=tau, model=model, c=c, cue_weight=w, rule=rule,
                                      platt=(a, b), validation_recall=recall,
                                      validation_precision=precision, oof_recall=oof[0],
                                      oof_precision=oof[1]))
    return CrisisSelection(**best[1], n_candidates=n)
