"""`pixel train-scoring`: fit the crisis classifier and the EQ / safety / bias heads on the train split.

Crisis: the encoder's top layers and a linear head are fine-tuned, once per ensemble member
(finetune.SEEDS), on the train split's messages (a long message's windows: all of them when it is
not a crisis, those with a current lexicon cue when it is); the epoch and the policy are chosen on
validation (`selection`), judging whole messages exactly as served (the members' mean logit).
Reply heads: ridge (EQ) and logistic (safety, bias) on the pair features. The test split is never
read here.

Deterministic: one thread per process, deterministic torch algorithms, exact solvers, fixed seeds,
so the same inputs give the same files byte for byte (a slow test checks it against the committed
weights).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.scoring.assessment import message_windows
from pipeline_lib.scoring.crisis_contract import contract_texts
from pipeline_lib.scoring.crisis_cues import find_cues, without_idioms
from pipeline_lib.scoring.crisis_model import blended_probability, cue_tensor, ensemble, window_logits
from pipeline_lib.scoring.crisis_policy import RULE_CANDIDATES, is_short
from pipeline_lib.scoring.encoder import SentenceEncoder
from pipeline_lib.scoring.heads import LINKS, LinearHead, TrainedHeads, pair_features
from pipeline_lib.scoring.response_cues import find_response_cues
from pipeline_lib.scoring.train import finetune
from pipeline_lib.scoring.train.ngram import BLEND_WEIGHTS, C as NGRAM_C, fit_ngram
from pipeline_lib.scoring.train.dataset import VALIDATION, load_crisis, load_pairs, validation_digest
from pipeline_lib.scoring.train.inputs import inputs_digest
from pipeline_lib.scoring.train.selection import CATEGORY_TARGET, TARGET_RECALL, Judged, judge_all

log = logging.getLogger(__name__)

RIDGE_ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
PROB_C = 0.1  # safety and bias logistic heads: strong regularisation for ~150 labelled replies


@dataclass(frozen=True)
class TrainReport:
    out_dir: Path
    seconds: float
    n_messages: int  # train messages
    n_windows: int  # texts the classifier was fine-tuned on
    n_pairs: int
    n_validation: int
    epoch: int
    best: Judged
    eq_alpha: float


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale < 1e-6, 1.0, scale)


def _fit_soft_logistic(x: np.ndarray, target: np.ndarray, *, c: float) -> LinearHead:
    """Logistic regression on a target in [0, 1]: each row counts as a positive with weight y and a
    negative with weight 1 - y, so graded labels (0, .5, 1) train a calibrated probability."""
    from sklearn.linear_model import LogisticRegression

    xx = np.concatenate([x, x])
    yy = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    w = np.concatenate([target, 1.0 - target]) + 1e-9
    mean, scale = _standardise(xx)
    model = LogisticRegression(C=c, max_iter=5000).fit((xx - mean) / scale, yy, sample_weight=w)
    return LinearHead(mean, scale, model.coef_.astype(np.float64),
                      model.intercept_.astype(np.float64), "logistic")


def _eq_head(x: np.ndarray, y: np.ndarray) -> tuple[LinearHead, float]:
    from sklearn.linear_model import RidgeCV

    mean, scale = _standardise(x)
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit((x - mean) / scale, y)
    head = LinearHead(mean, scale, np.atleast_2d(model.coef_).astype(np.float64),
                      np.atleast_1d(model.intercept_).astype(np.float64), LINKS["eq"])
    return head, float(model.alpha_)


def _windowed(encoder, texts: list[str]) -> tuple[list, list, list]:
    """Per message: its windows' cues, lower-layer states (computed once, reused every epoch) and
    idiom-blanked texts."""
    cues, states, window_texts = [], [], []
    for text in texts:
        ws = message_windows(text)
        cues.append([w.cues for w in ws])
        states.append([encoder.lower(w.text) for w in ws])
        window_texts.append([w.text for w in ws])
    return cues, states, window_texts


def train(out_dir: Path, *, data: Path | None = None) -> TrainReport:
    import torch

    start = time.perf_counter()
    digest = inputs_digest(data)  # before anything runs: the code and data this training reads
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same float sums in the same order on every run
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        encoder = SentenceEncoder.load()
        messages = load_crisis(data, split="train")
        validation = load_crisis(data, split=VALIDATION)
        pairs = load_pairs(data, split="train")
        texts, labels, cues = [], [], []
        for m in messages:
            ws = message_windows(m.text)
            if len(ws) > 1 and m.crisis:
                # Which window of a long crisis message holds the crisis is not labelled: the
                # windows where the lexicon finds a current cue are taken as its crisis windows;
                # the others are left out (they may hold the crisis in words it does not know).
                ws = [w for w in ws if w.cues.any_current]
            texts += [w.text for w in ws]
            cues += [w.cues for w in ws]
            labels += [m.crisis] * len(ws)
        states = [encoder.lower(t)[0] for t in texts]
        ngram = fit_ngram(texts, np.array(labels))
        val_cues, val_states, val_windows = _windowed(encoder, [m.text for m in validation])
        con_texts, con_labels = contract_texts()
        con_cues, con_states, con_windows = _windowed(encoder, con_texts)
        val = dict(window_cues=val_cues, y=np.array([m.crisis for m in validation]),
                   short=np.array([is_short(m.text, c) for m, c in zip(validation, val_cues)]),
                   kinds=np.array([m.kind for m in validation]),
                   batches=np.array([m.batch for m in validation]))
        contract = dict(window_cues=con_cues, y=np.array(con_labels),
                        short=np.array([is_short(t, c) for t, c in zip(con_texts, con_cues)]))
        chosen: dict = {}
        log.info("crisis classifier: %d members (seeds %s)", len(finetune.SEEDS), finetune.SEEDS)
        snapshots = finetune.fine_tune_members(states, cue_tensor(cues).numpy(), np.array(labels),
                                               init_top=encoder.top)
        for epoch, members in sorted(snapshots.items()):
            # The served probability, window by window (crisis_model.window_logits and
            # blended_probability, as assessment computes it), for every candidate blend weight
            params = dict(ensemble(members), **ngram)
            logits = {id(d): [[window_logits(params, s, c, t) for s, c, t in zip(ss, cs, ts)]
                              for ss, cs, ts in zip(sts, d["window_cues"], wts)]
                      for d, sts, wts in ((val, val_states, val_windows),
                                          (contract, con_states, con_windows))}
            for weight in BLEND_WEIGHTS:
                for d in (val, contract):
                    d["window_probs"] = [np.array([blended_probability(ze, zn, weight) for ze, zn in zs])
                                         for zs in logits[id(d)]]
                for judged in judge_all(val, contract):
                    if "best" not in chosen or judged.key > chosen["best"].key:
                        chosen.update(best=judged, epoch=epoch, blend=weight,
                                      params=dict(params, **{"blend.weight": torch.tensor([weight])}))

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
        torch.use_deterministic_algorithms(deterministic)
    best: Judged = chosen["best"]
    meta = {
        "inputs_sha256": digest,
        "n_train_messages": len(messages),
        "n_train_windows": len(texts),
        "n_train_pairs": len(pairs),
        "crisis_epochs": chosen["epoch"],
        "crisis_finetune": {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in finetune.HYPER_PARAMETERS.items()},
        "crisis_selection": {
            "split": VALIDATION,
            "validation_sha256": validation_digest(data),
            "n_validation_messages": len(validation),
            "target_recall": TARGET_RECALL,
            "category_target": CATEGORY_TARGET,
            "validation_recall": round(best.recall, 4),
            "validation_precision": round(best.precision, 4),
            "validation_worst_category": round(best.worst_category, 4),
            "candidates": len(RULE_CANDIDATES) * len(finetune.CANDIDATE_EPOCHS) * len(BLEND_WEIGHTS),
        },
        "crisis_contract": {"messages": len(con_texts), "kept": best.kept},
        "crisis_blend": {"ngram_weight": chosen["blend"], "candidates": list(BLEND_WEIGHTS),
                         "ngram_c": NGRAM_C},
        "eq_ridge_alpha": alpha,
    }
    TrainedHeads({"eq": eq, "safety": safety, "bias": bias}, chosen["params"], best.policy,
                 meta).save(out_dir)
    seconds = time.perf_counter() - start
    log.info("trained scoring heads in %.1f s -> %s", seconds, out_dir)
    return TrainReport(out_dir, seconds, len(messages), len(texts), len(pairs), len(validation),
                       chosen["epoch"], best, alpha)
