"""A KV cache of fixed slots, allocated once: one request per slot, positions from 0 in each.

Keys and values live in two tensors [n_layer, n_slots, n_kv_heads, max_seq_len, head_dim]; the
model sees per-layer lists of views over a contiguous slot range (basic slicing: no copy). Free
slots are handed out lowest index first so the rows of a decode step stay clustered.

The last index of every slot (max_seq_len - 1) is never part of a request (a request holds at
most max_seq_len tokens and its last token is never fed back), so rows of a decode range that are
not decoding write their throw-away key/value there.
"""

from __future__ import annotations

import heapq
from typing import List, Tuple

import torch
from torch import Tensor

from pipeline_lib.errors import PixelError


class KVSlots:
    def __init__(self, *, n_layer: int, n_slots: int, n_kv_heads: int, max_seq_len: int,
                 head_dim: int, dtype: torch.dtype, device: torch.device | str):
        shape = (n_layer, n_slots, n_kv_heads, max_seq_len, head_dim)
        # Zeros, not empty: masked keys still multiply their values by 0, and 0 * NaN is NaN.
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.n_layer = n_layer
        self.n_slots = n_slots
        self.max_seq_len = max_seq_len
        self.scratch_pos = max_seq_len - 1
        self._free = list(range(n_slots))  # a heap: lowest index first
        self._views: dict[Tuple[int, int], Tuple[List[Tensor], List[Tensor]]] = {}

    @property
    def free_count(self) -> int:
        return len(self._free)

    def allocate(self) -> int:
        if not self._free:
            raise PixelError("no free KV slot (the scheduler admits only into free slots)")
        return heapq.heappop(self._free)

    def release(self, slot: int) -> None:
        heapq.heappush(self._free, slot)

    def views(self, lo: int, hi: int) -> Tuple[List[Tensor], List[Tensor]]:
        """Per-layer [hi - lo, KV, S, hd] views of slots lo..hi-1 (cached: built once per range)."""
        key = (lo, hi)
        if key not in self._views:
            self._views[key] = ([self.k[i, lo:hi] for i in range(self.n_layer)],
                                [self.v[i, lo:hi] for i in range(self.n_layer)])
        return self._views[key]

    def read_prefix(self, slot: int, length: int) -> Tuple[Tensor, Tensor]:
        """Copies of the first `length` keys/values of a slot: [n_layer, KV, length, hd] each."""
        return self.k[:, slot, :, :length].clone(), self.v[:, slot, :, :length].clone()

    def write_prefix(self, slot: int, k: Tensor, v: Tensor) -> None:
        length = k.shape[2]
        self.k[:, slot, :, :length].copy_(k)
        self.v[:, slot, :, :length].copy_(v)
