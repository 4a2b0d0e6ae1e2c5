"""Next tokens for the rows of one step, each with its own settings and random generator.

Greedy rows share one argmax; sampled rows draw one at a time from their own seeded
`torch.Generator` with `pipeline_lib.lm.decode.sample` (the exported module's sampler), so a
seeded request gets the same draws whatever else shares the batch.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import Tensor

from pipeline_lib.lm.decode import sample


class RowSampler:
    """The sampling state of one request."""

    def __init__(self, *, temperature: float, top_p: float, seed: int):
        self.temperature = temperature
        self.top_p = top_p
        self.generator: Optional[torch.Generator] = None
        if temperature > 0.0:
            self.generator = torch.Generator()  # CPU whatever the device, as `sample` draws
            self.generator.manual_seed(seed)

    @property
    def greedy(self) -> bool:
        return self.generator is None


def sample_rows(logits: Tensor, samplers: Sequence[RowSampler]) -> List[int]:
    """logits [R, V] (row r belongs to samplers[r]) -> R token ids."""
    greedy = torch.argmax(logits, dim=-1).tolist()  # one call for every greedy row
    out = []
    for r, s in enumerate(samplers):
        if s.greedy:
            out.append(int(greedy[r]))
        else:
            out.append(int(sample(logits[r:r + 1], s.temperature, s.top_p, s.generator)[0]))
    return out
