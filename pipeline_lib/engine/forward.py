"""The two model calls of the engine: one prefill chunk of one slot, one decode step of many.

Both run the `Transformer` of `pipeline_lib.lm.model` (eager or TorchScript-compiled) on views of
the slot cache, so nothing is copied per step: a prefill chunk uses the int `cache_start` path
(B = 1); a decode step passes `write_pos` so that each row writes its key/value at its own length.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from pipeline_lib.engine.kv_slots import KVSlots
from pipeline_lib.lm.model import Transformer


def prefill_chunk(model: Transformer, kv: KVSlots, *, slot: int, token_ids: Sequence[int],
                  start: int, want_logits: bool) -> Tensor | None:
    """Compute prompt tokens [start, start + T) of a slot whose cache holds [0, start).

    Queries see earlier cached tokens and the chunk causally. Returns the fp32 logits [V] of the
    chunk's last token when `want_logits` (the prompt's last chunk), else None.
    """
    device = kv.k.device
    T = len(token_ids)
    tokens = torch.tensor([list(token_ids)], dtype=torch.long, device=device)  # [1, T]
    positions = torch.arange(start, start + T, device=device)[None]  # [1, T]
    # key j visible from query i iff j <= start + i: [1, 1, T, start + T]
    mask = torch.ones(T, start + T, dtype=torch.bool, device=device).tril(start)[None, None]
    k_views, v_views = kv.views(slot, slot + 1)
    h = model(tokens, positions, mask, k_views, v_views, start)  # [1, T, dim]
    if not want_logits:
        return None
    return model.output(h[:, -1]).float()[0]


def decode_step(model: Transformer, kv: KVSlots, *, slots: Sequence[int],
                token_ids: Sequence[int], positions: Sequence[int]) -> Tensor:
    """One token for each of `slots` (fed token, its position = the slot's cached length).

    Runs rows lo..hi-1 (the slots' span) as one batch; rows of that span that are not in `slots`
    attend to key 0 only and write to the scratch index. -> fp32 logits [len(slots), V].
    """
    device = kv.k.device
    lo, hi = min(slots), max(slots) + 1
    B = hi - lo
    rows = torch.tensor([s - lo for s in slots], dtype=torch.long, device=device)  # [R]
    pos_r = torch.tensor(list(positions), dtype=torch.long, device=device)  # [R]
    tokens = torch.zeros(B, dtype=torch.long, device=device)
    tokens[rows] = torch.tensor(list(token_ids), dtype=torch.long, device=device)
    pos = torch.zeros(B, dtype=torch.long, device=device)
    pos[rows] = pos_r
    write_pos = torch.full((B,), kv.scratch_pos, dtype=torch.long, device=device)
    write_pos[rows] = pos_r
    end = int(max(positions)) + 1  # keys [0, end) cover the longest row
    mask = torch.arange(end, device=device)[None] <= pos[:, None]  # [B, end]
    k_views, v_views = kv.views(lo, hi)
    h = model(tokens[:, None], pos[:, None], mask[:, None, None], k_views, v_views, end - 1,
              write_pos)  # [B, 1, dim]
    if list(slots) != list(range(lo, hi)):
        h = h.index_select(0, rows)  # the LM head only for real rows, in the caller's order
    return model.output(h[:, 0]).float()
