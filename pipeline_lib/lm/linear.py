"""The fp32 linear layer of the decoder: `nn.Linear` with a two-core path for decode steps on CPU.

Only `torch` is imported here (the module runs inside Triton's LibTorch backend too). The
quantized layers that replace it in a `--quantize` export are in `quant.py`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Linear(nn.Linear):
    """nn.Linear with a two-core path for few input rows on CPU (decode steps).

    Why: a decode step reads every weight once per token, and MKL's product for a handful of
    rows streams it with one core's bandwidth. With the column-major layout
    (`Transformer.use_cpu_layout`) the two halves of W^T along the input dimension are
    contiguous, so a batch-2 `bmm` reads them on two threads and the halves are added. Whole
    model's matrices per step, 2-core EPYC: 1 row 34 -> 25 ms, 8 rows 95 -> 58 ms; past ~64 rows
    (prefill) plain GEMM wins again. Row-major weights (bf16/fp16) keep a `mv` path for one row.
    Same parameters and state-dict names as nn.Linear.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.split_max_rows = 64  # beyond this, one multi-threaded GEMM is faster

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight
        width = x.shape[-1]
        rows = x.numel() // max(width, 1)
        if x.is_cuda or rows > self.split_max_rows:
            return F.linear(x, w, self.bias)
        if w.stride(0) == 1 and width % 2 == 0:  # column-major: two contiguous halves of W^T
            k = width // 2
            halves = x.reshape(rows, 2, k).transpose(0, 1)  # [2, rows, k]
            y = torch.bmm(halves, w.t().view(2, k, w.shape[0])).sum(0)  # [rows, N]
        elif rows == 1:  # row-major (bf16/fp16): `mv` streams faster than F.linear on some CPUs
            y = torch.mv(w, x.reshape(-1))[None]
        else:
            return F.linear(x, w, self.bias)
        if self.bias is not None:
            y = y + self.bias
        return y.view(list(x.shape[:-1]) + [-1])
