"""Fine-tune the crisis classifier's members: the encoder's top layers and a linear head, on cached states.

The lower encoder layers stay frozen, so each training text goes through them once
(`SentenceEncoder.lower`, one text at a time) and the cached states are reused every epoch; only the
top layer runs forward and backward (`crisis_model.crisis_logits`, the function serving uses).
That is what makes training take seconds per epoch instead of minutes.

Loss: class-balanced binary cross-entropy. AdamW (top layer lr LR, head HEAD_LR_FACTOR x), 10 %
linear warm-up then linear decay over EPOCHS epochs, batches of BATCH in a seeded order, dropout on.
Each ensemble member (crisis_model) is this fine-tuning from its own seed in SEEDS: another head
initialisation, batch order and dropout draw, on the same data with the same schedule.

Deterministic: one thread, `torch.use_deterministic_algorithms`, fixed seeds and batch order, so two
runs write byte-identical weights.
"""

from __future__ import annotations

import logging

import numpy as np

from pipeline_lib.scoring.crisis_model import FEATURE_DIM, crisis_logits

log = logging.getLogger(__name__)

SEEDS = (20261202, 1, 2, 3)  # one per ensemble member (four: docs/scoring.md, "Seed ensemble")
LR = 3e-4
HEAD_LR_FACTOR = 30.0
WEIGHT_DECAY = 0.01
BATCH = 16
EPOCHS = 6
CANDIDATE_EPOCHS = (3, 4, 5, 6)  # validation picks one (the lr schedule always spans EPOCHS)
CUE_WEIGHT = 1.0
WARMUP = 0.1
DROPOUT = 0.1
HYPER_PARAMETERS = dict(seeds=SEEDS, lr=LR, head_lr_factor=HEAD_LR_FACTOR, weight_decay=WEIGHT_DECAY,
                        batch=BATCH, epochs=EPOCHS, candidate_epochs=CANDIDATE_EPOCHS,
                        cue_weight=CUE_WEIGHT, warmup=WARMUP, dropout=DROPOUT)


def _pad(states: list, idx) -> tuple:
    import torch

    t = max(states[i].shape[0] for i in idx)
    x = torch.zeros(len(idx), t, states[idx[0]].shape[1])
    mask = torch.zeros(len(idx), t, dtype=torch.bool)
    for row, i in enumerate(idx):
        x[row, :states[i].shape[0]] = states[i]
        mask[row, :states[i].shape[0]] = True
    return x, mask


def fine_tune(states: list, cue_features: np.ndarray, y: np.ndarray, *, init_top: dict, seed: int,
              on_epoch=None) -> dict:
    """states: per training text, its (tokens, 384) lower-layer states; init_top: the encoder's own
    top layer (the starting point). on_epoch(epoch, params) is called after each epoch in
    CANDIDATE_EPOCHS with a detached copy of the parameters. Returns the last epoch's parameters."""
    import torch

    cue = np.asarray(cue_features, dtype=np.float64)
    mean = cue.mean(axis=0)
    scale = cue.std(axis=0)
    scale = np.where(scale < 1e-6, 1.0, scale) / CUE_WEIGHT
    torch.manual_seed(seed)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in init_top.items()}
    head = torch.nn.Linear(FEATURE_DIM, 1)  # default init, seeded above
    params["head.weight"] = head.weight.detach()[0].clone().requires_grad_(True)
    params["head.bias"] = head.bias.detach().clone().requires_grad_(True)
    params["cue.mean"] = torch.tensor(mean, dtype=torch.float32)
    params["cue.scale"] = torch.tensor(scale, dtype=torch.float32)
    cue_t = torch.tensor(cue, dtype=torch.float32)
    yt = torch.tensor(np.asarray(y), dtype=torch.float32)
    pos = float(yt.mean())
    w_pos, w_neg = 0.5 / pos, 0.5 / (1.0 - pos)
    top = [v for k, v in params.items() if k.startswith("layer")]
    opt = torch.optim.AdamW(
        [{"params": top, "lr": LR},
         {"params": [params["head.weight"], params["head.bias"]], "lr": LR * HEAD_LR_FACTOR}],
        weight_decay=WEIGHT_DECAY,
    )
    n = len(states)
    steps = EPOCHS * ((n + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (WARMUP * steps)) * max(0.0, (steps - s) / steps)
    )
    rng = np.random.default_rng(seed)
    for epoch in range(1, EPOCHS + 1):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH].tolist()
            x, mask = _pad(states, idx)
            logit = crisis_logits(params, x, cue_t[idx], mask, dropout=DROPOUT)
            target = yt[idx]
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logit, target, reduction="none")
                    * (target * w_pos + (1 - target) * w_neg)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        log.info("crisis classifier: epoch %d/%d done", epoch, EPOCHS)
        if on_epoch is not None and epoch in CANDIDATE_EPOCHS:
            on_epoch(epoch, snapshot(params))
    return snapshot(params)


def snapshot(params: dict) -> dict:
    """A detached copy, with the tuned layers rounded to fp16: what is stored (half the size) is
    exactly what selection judged."""
    return {k: (v.detach().half().float() if k.startswith("layer") else v.detach().clone())
            for k, v in params.items()}


_TRAINING_SET: dict = {}  # what the worker processes read (inherited by fork, not pickled)


def _member_snapshots(seed: int) -> dict[int, dict]:
    """One member, in a worker: {epoch: params as numpy arrays} (plain arrays cross the pipe)."""
    snaps: dict[int, dict] = {}
    fine_tune(**_TRAINING_SET, seed=seed,
              on_epoch=lambda e, p: snaps.__setitem__(e, {k: v.numpy() for k, v in p.items()}))
    return snaps


def fine_tune_members(states: list, cue_features: np.ndarray, y: np.ndarray, *, init_top: dict,
                      seeds: tuple[int, ...] = SEEDS, workers: int | None = None) -> dict[int, list[dict]]:
    """Every member of the ensemble: {epoch in CANDIDATE_EPOCHS: [params of each member, in seed
    order]}. Members are independent, so they train in parallel processes (one per core, each on
    one thread); a member's result does not depend on which process trained it."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    import torch

    workers = max(1, min(len(seeds), workers or os.cpu_count() or 1))
    _TRAINING_SET.update(states=states, cue_features=cue_features, y=y, init_top=init_top)
    try:
        if workers == 1:
            results = [_member_snapshots(s) for s in seeds]
        else:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                results = list(pool.map(_member_snapshots, seeds))
    finally:
        _TRAINING_SET.clear()
    return {e: [{k: torch.from_numpy(v) for k, v in r[e].items()} for r in results]
            for e in CANDIDATE_EPOCHS}
