"""The model calls of the engine: a prefill chunk of one slot, a decode step of many, or decode
rows and prefill chunks of several slots in one pass over the weights (`mixed_step`).

All run the `Transformer` of `pipeline_lib.lm.model` (eager or TorchScript-compiled) on views of
the slot cache, so nothing is copied per step: a prefill chunk uses the int `cache_start` path
(B = 1); a decode step passes `write_pos` so that each row writes its key/value at its own length.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence

import torch
from torch import Tensor

from pipeline_lib.engine.kv_slots import KVSlots
from pipeline_lib.lm.model import Transformer


class PromptChunk(NamedTuple):
    """Prompt tokens [start, start + len(token_ids)) of the request in `slot`."""
    slot: int
    token_ids: Sequence[int]
    start: int
    want_logits: bool  # the prompt's last chunk: its last token's logits give the first reply token


def _chunk_inputs(kv: KVSlots, token_ids: Sequence[int], start: int):
    """tokens [1, T], positions [1, T] and the causal mask [1, 1, T, start + T] of a chunk."""
    device = kv.k.device
    T = len(token_ids)
    tokens = torch.tensor([list(token_ids)], dtype=torch.long, device=device)
    positions = torch.arange(start, start + T, device=device)[None]
    # key j visible from query i iff j <= start + i
    mask = torch.ones(T, start + T, dtype=torch.bool, device=device).tril(start)[None, None]
    return tokens, positions, mask


def _row_inputs(kv: KVSlots, slots: Sequence[int], token_ids: Sequence[int],
                positions: Sequence[int]):
    """The decode batch over the slot span lo..hi-1: rows of the span that are not in `slots`
    attend to key 0 only and write to the scratch index.
    -> lo, hi, rows [R], tokens [B], pos [B], write_pos [B], end, mask [B, 1, 1, end]."""
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
    return lo, hi, rows, tokens, pos, write_pos, end, mask[:, None, None]


def prefill_chunk(model: Transformer, kv: KVSlots, *, slot: int, token_ids: Sequence[int],
                  start: int, want_logits: bool) -> Tensor | None:
    """Compute prompt tokens [start, start + T) of a slot whose cache holds [0, start).

    Queries see earlier cached tokens and the chunk causally. Returns the fp32 logits [V] of the
    chunk's last token when `want_logits` (the prompt's last chunk), else None.
    """
    tokens, positions, mask = _chunk_inputs(kv, token_ids, start)
    k_views, v_views = kv.views(slot, slot + 1)
    h = model(tokens, positions, mask, k_views, v_views, start)  # [1, T, dim]
    if not want_logits:
        return None
    return model.output(h[:, -1]).float()[0]


def decode_step(model: Transformer, kv: KVSlots, *, slots: Sequence[int],
                token_ids: Sequence[int], positions: Sequence[int]) -> Tensor:
    """One token for each of `slots` (fed token, its position = the slot's cached length).
    -> fp32 logits [len(slots), V], in the caller's order."""
    lo, hi, rows, tokens, pos, write_pos, end, mask = _row_inputs(kv, slots, token_ids, positions)
    k_views, v_views = kv.views(lo, hi)
    h = model(tokens[:, None], pos[:, None], mask, k_views, v_views, end - 1,
              write_pos)  # [B, 1, dim]
    if list(slots) != list(range(lo, hi)):
        h = h.index_select(0, rows)  # the LM head only for real rows, in the caller's order
    return model.output(h[:, 0]).float()


def mixed_step(model: Transformer, kv: KVSlots, *, slots: Sequence[int],
               token_ids: Sequence[int], positions: Sequence[int],
               chunks: Sequence[PromptChunk]) -> tuple[Tensor, List[Optional[Tensor]]]:
    """`decode_step` over `slots` (may be empty) and `prefill_chunk` of every chunk in one model
    call (`Transformer.forward_mixed`): the same numbers up to float summation order, one read of
    the weights (and one set of kernel launches) instead of one per part.
    -> (decode logits [len(slots), V], per chunk its last-token logits [V] or None)."""
    if slots:
        lo, hi, rows, tokens, _, write_pos, end, row_mask = _row_inputs(kv, slots, token_ids,
                                                                         positions)
    else:  # prompts only (several arrived together)
        device = kv.k.device
        lo = hi = end = 1
        rows = tokens = write_pos = torch.zeros(0, dtype=torch.long, device=device)
        row_mask = torch.ones(0, 1, 1, 1, dtype=torch.bool, device=device)
    k_rows, v_rows = kv.views(lo, hi)
    parts = [tokens]
    c_positions, c_masks, k_chunks, v_chunks = [], [], [], []
    for c in chunks:
        c_tokens, positions_c, mask_c = _chunk_inputs(kv, c.token_ids, c.start)
        parts.append(c_tokens[0])
        c_positions.append(positions_c)
        c_masks.append(mask_c)
        k_c, v_c = kv.views(c.slot, c.slot + 1)
        k_chunks.append(k_c)
        v_chunks.append(v_c)
    h = model.forward_mixed(torch.cat(parts)[None], row_mask, k_rows, v_rows, end - 1, write_pos,
                            c_positions, c_masks, k_chunks, v_chunks,
                            [c.start for c in chunks])[0]  # [B + sum T, dim]
    B = hi - lo
    picked = [h[:B] if list(slots) == list(range(lo, hi)) else h[:B].index_select(0, rows)]
    offset = B
    for c in chunks:
        offset += len(c.token_ids)
        if c.want_logits:
            picked.append(h[offset - 1:offset])
    picked = torch.cat(picked)
    if not len(picked):  # prompts only, none finished: no logits wanted
        return h.new_zeros(0, 0), [None] * len(chunks)
    logits = model.output(picked).float()  # one LM-head matmul for every row that needs it
    n = len(slots)
    chunk_logits: List[Optional[Tensor]] = []
    for c in chunks:
        chunk_logits.append(logits[n] if c.want_logits else None)
        n += c.want_logits
    return logits[:len(slots)], chunk_logits
