"""Keys/values of shared prompt prefixes (system prompt + chat-template prefix), computed once.

Keyed by the prefix's token ids; a bounded LRU. An entry holds [n_layer, KV, length, hd] keys and
values copied out of the slot of the first request that computed them. Since the engine always
ends a prefill chunk at the prefix boundary, a request that copies an entry gets bit for bit the
numbers it would have computed itself.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional, Sequence, Tuple

from torch import Tensor


class PrefixCache:
    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: "OrderedDict[tuple[int, ...], Tuple[Tensor, Tensor]]" = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.tokens_saved = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def lookup(self, prefix: Sequence[int]) -> Optional[Tuple[Tensor, Tensor]]:
        """The entry for these ids, counted as a hit or a miss (None when missing or disabled)."""
        if not self.enabled or not prefix:
            return None
        key = tuple(prefix)
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        self.tokens_saved += len(key)
        return entry

    def __contains__(self, prefix: Sequence[int]) -> bool:
        return tuple(prefix) in self._entries

    def store(self, prefix: Sequence[int], k: Tensor, v: Tensor) -> None:
        if not self.enabled or not prefix:
            return
        key = tuple(prefix)
        self._entries[key] = (k, v)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
