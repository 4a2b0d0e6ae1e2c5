"""Weight-only quantized linear layers (int8 per output channel, int4 per group) for CPU decode.

Why: batch-1 decode reads every weight once per token, so its speed is bytes per weight. The
kernels are the aten ops torchao's CPU weight-only paths also use, scriptable by TorchScript and
loadable by any libtorch of the same version: `_weight_int8pack_mm` (int8 [N, K] + a scale per
output channel) and `_weight_int4pack_mm_for_cpu` (int4 packed two per byte, a scale and a zero
per group of K). Both are fast only with bf16 activations (their fp32 path is a scalar fallback,
10-40x slower, measured in benchmarks/quant_kernels.py), so a quantized layer takes fp32 in,
rounds it to bf16 for the product and returns fp32: norms, RoPE, attention, the residual stream and
the KV cache stay fp32. Weights are quantized and packed once, at export; the packed tensors are
buffers, saved in the TorchScript archive. CPU only (the int4 packing is the CPU kernel's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn

from pipeline_lib.errors import PixelError

SCHEMES = ("none", "int8", "int4")
ACTIVATION_DTYPE = torch.bfloat16
INT4_N_MULTIPLE = 16  # the CPU int4 packing needs output widths that are multiples of 16


class QuantizationError(PixelError):
    """The model cannot be quantized as asked (group size, layer width, device)."""


@dataclass(frozen=True)
class QuantSpec:
    """How an export quantizes: `scheme` for the layers' matrices, `head` for the LM head
    (`none` keeps it fp32), `group_size` for int4 (a divisor of every input width)."""

    scheme: str = "none"
    group_size: int = 32
    head: str = "int8"

    def as_metadata(self) -> dict:
        return {"scheme": self.scheme, "group_size": self.group_size, "head": self.head,
                "activations": "bf16"}

    @classmethod
    def from_metadata(cls, meta: Optional[dict]) -> "QuantSpec":
        if not meta:
            return cls()
        return cls(meta["scheme"], int(meta["group_size"]), meta["head"])


def _bf16(x: Tensor) -> Tensor:
    return x.to(ACTIVATION_DTYPE).float()


def _reshape_out(y: Tensor, x: Tensor, bias: Optional[Tensor]) -> Tensor:
    y = y.to(x.dtype)
    if bias is not None:
        y = y + bias
    return y.view(list(x.shape[:-1]) + [-1])


class Int8Linear(nn.Module):
    """y = x (q * scale)^T + bias; q int8 [N, K], one scale per output channel (symmetric)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features,
                                                        dtype=torch.int8))
        self.register_buffer("scales", torch.ones(out_features, dtype=ACTIVATION_DTYPE))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    @classmethod
    def from_weight(cls, weight: Tensor, bias: Optional[Tensor] = None) -> "Int8Linear":
        w = weight.detach().float()
        # The kernel reads bf16 scales: round them first and quantize against the rounded
        # value, so the scale's rounding becomes part of the (bounded) quantization error.
        scales = _bf16((w.abs().amax(1) / 127.0).clamp(min=1e-8))
        layer = cls(w.shape[1], w.shape[0], bias is not None)
        layer.weight_int8 = (w / scales[:, None]).round().clamp(-127, 127).to(torch.int8)
        layer.scales = scales.to(ACTIVATION_DTYPE)
        if bias is not None:
            layer.bias = nn.Parameter(bias.detach().float().clone())
        return layer

    def dequantized(self) -> Tensor:
        return self.weight_int8.float() * self.scales.float()[:, None]

    def forward(self, x: Tensor) -> Tensor:
        x2 = x.reshape(-1, self.in_features).to(self.scales.dtype)  # bf16: the fast path
        y = torch.ops.aten._weight_int8pack_mm(x2, self.weight_int8, self.scales)
        return _reshape_out(y, x, self.bias)


def int4_quantize(weight: Tensor, group_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """Asymmetric round-to-nearest per group of `group_size` inputs: -> (q int32 [N, K] in
    0..15, scale [N, K/g], zero [N, K/g]) with w ~ (q - 8) * scale + zero (the kernel's form).
    Each group's range is shrunk by the factor (of 1.0 ... 0.8) that minimises its squared
    error: clipping a rare outlier buys resolution for the rest of the group."""
    N, K = weight.shape
    g = weight.detach().float().reshape(N, K // group_size, group_size)
    lo, hi = g.amin(-1, keepdim=True), g.amax(-1, keepdim=True)
    best_err = torch.full_like(lo, float("inf"))
    best_q, best_scale, best_min = torch.zeros_like(g), torch.ones_like(lo), lo.clone()
    for shrink in (1.0, 0.95, 0.9, 0.85, 0.8):
        mid, half = (hi + lo) / 2, (hi - lo) / 2 * shrink
        low = mid - half
        scale = (2 * half / 15).clamp(min=1e-8)
        q = ((g - low) / scale).round().clamp(0, 15)
        err = ((q * scale + low - g) ** 2).sum(-1, keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_q = torch.where(better, q, best_q)
        best_scale = torch.where(better, scale, best_scale)
        best_min = torch.where(better, low, best_min)
    # Scale and zero are rounded to bf16 for the kernel afterwards, not before: the scale moves
    # by <= 2^-9 of itself, far less than refitting q to it would (a step is 1/15 of the range).
    zero = best_min + 8 * best_scale
    return (best_q.reshape(N, K).to(torch.int32), best_scale.reshape(N, -1),
            zero.reshape(N, -1))


def int4_dequantize(q: Tensor, scale: Tensor, zero: Tensor, group_size: int) -> Tensor:
    """fp32 [N, K] from `int4_quantize`'s output, with scale and zero rounded to bf16 as the
    kernel reads them."""
    N, K = q.shape
    g = q.float().reshape(N, K // group_size, group_size) - 8
    return (g * _bf16(scale)[..., None] + _bf16(zero)[..., None]).reshape(N, K)


class Int4Linear(nn.Module):
    """Weight-only int4 with a bf16 scale and zero per group of `group_size` inputs."""

    def __init__(self, in_features: int, out_features: int, group_size: int, bias: bool = False):
        super().__init__()
        self.in_features, self.out_features, self.group_size = in_features, out_features, group_size
        self.register_buffer("weight_int4", torch.zeros(out_features, in_features // 2,
                                                        dtype=torch.uint8))
        self.register_buffer("scales_and_zeros", torch.zeros(
            in_features // group_size, out_features, 2, dtype=ACTIVATION_DTYPE))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    @classmethod
    def from_weight(cls, weight: Tensor, group_size: int,
                    bias: Optional[Tensor] = None) -> "Int4Linear":
        N, K = weight.shape
        q, scale, zero = int4_quantize(weight, group_size)
        layer = cls(K, N, group_size, bias is not None)
        layer.weight_int4 = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
        layer.scales_and_zeros = torch.stack([scale, zero], -1).transpose(0, 1).contiguous().to(
            ACTIVATION_DTYPE)
        if bias is not None:
            layer.bias = nn.Parameter(bias.detach().float().clone())
        return layer

    def forward(self, x: Tensor) -> Tensor:
        x2 = x.reshape(-1, self.in_features).to(self.scales_and_zeros.dtype)
        y = torch.ops.aten._weight_int4pack_mm_for_cpu(x2, self.weight_int4, self.group_size,
                                                       self.scales_and_zeros)
        return _reshape_out(y, x, self.bias)


def _layer_linears(model) -> list[tuple[nn.Module, str]]:
    """(parent, attribute) of every matrix of the decoder layers, in order."""
    found = []
    for layer in model.layers:
        found += [(layer.attention, "wqkv"), (layer.attention, "wo"),
                  (layer.feed_forward, "w13"), (layer.feed_forward, "w2")]
    return found


def check_spec(model, spec: QuantSpec) -> None:
    """Raise naming the flag and the layer when `spec` cannot apply to `model`."""
    if spec.scheme not in SCHEMES:
        raise QuantizationError(f"--quantize: {spec.scheme!r} is not one of {', '.join(SCHEMES)}")
    if spec.head not in SCHEMES:
        raise QuantizationError(f"head quantization {spec.head!r} is not one of {SCHEMES}")
    targets = [(getattr(p, a), f"{type(p).__name__}.{a}") for p, a in _layer_linears(model)]
    if spec.scheme != "int4" and spec.head != "int4":
        return
    widths = sorted({m.in_features for m, _ in targets} | {model.output.in_features})
    good = [g for g in (32, 64, 128, 256) if all(w % g == 0 for w in widths)]
    if spec.group_size <= 0 or any(w % spec.group_size for w in widths):
        raise QuantizationError(
            f"--group-size {spec.group_size} does not divide every input width {widths}; "
            f"choose one of {good or 'none (use --quantize int8)'}")
    modules = targets if spec.scheme == "int4" else []
    modules += [(model.output, "output")] if spec.head == "int4" else []
    for module, name in modules:
        if module.out_features % INT4_N_MULTIPLE:
            raise QuantizationError(
                f"{name} has {module.out_features} outputs, not a multiple of {INT4_N_MULTIPLE} "
                "as the CPU int4 kernel needs: use --quantize int8")


def _quantized(linear: nn.Module, scheme: str, group_size: int, empty: bool) -> nn.Module:
    K, N, has_bias = linear.in_features, linear.out_features, linear.bias is not None
    if scheme == "int8":
        return (Int8Linear(K, N, has_bias) if empty
                else Int8Linear.from_weight(linear.weight, linear.bias))
    return (Int4Linear(K, N, group_size, has_bias) if empty
            else Int4Linear.from_weight(linear.weight, group_size, linear.bias))


def quantize_model(model, spec: QuantSpec, *, empty: bool = False):
    """Replace the layers' matrices (and the LM head) of an fp32 `Transformer` in place.

    empty=True builds the quantized modules without weights (to load a saved state dict into).
    A tied LM head becomes its own quantized copy; the embedding table stays fp32 (a lookup
    reads only the rows it needs)."""
    check_spec(model, spec)
    if spec.scheme != "none":
        for parent, attr in _layer_linears(model):
            setattr(parent, attr, _quantized(getattr(parent, attr), spec.scheme,
                                             spec.group_size, empty))
    if spec.head != "none" and spec.scheme != "none":
        model.output = _quantized(model.output, spec.head, spec.group_size, empty)
    return model


def weight_bytes(model) -> int:
    """Bytes of the matrices a decode step reads (parameters and packed buffers; the embedding
    table counts only when the LM head is tied to it, as the head)."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    total += sum(b.numel() * b.element_size() for name, b in model.named_buffers()
                 if name != "inv_freq")
    emb = model.tok_embeddings.weight
    if getattr(model.output, "weight", None) is not emb:
        total -= emb.numel() * emb.element_size()
    return total
