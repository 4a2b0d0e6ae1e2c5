"""A Llama-family decoder (Llama, Mistral, Qwen2) in the spirit of gpt-fast, scriptable by TorchScript.

Only `torch` is imported here: the module must run inside Triton's LibTorch backend and the Python
backend alike. Loading Hugging Face checkpoints lives in `loader.py`; the decode loop in `decode.py`.

The KV cache is not a module buffer: its batch size changes per request, so `decode.py` allocates one
static cache per call (sized prompt + max_new_tokens) and passes it down as lists of tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline_lib.errors import PixelError
from pipeline_lib.lm.linear import Linear


class ModelArgsError(PixelError):
    """Model hyper-parameters are inconsistent or use a feature this decoder does not implement."""


@dataclass
class ModelArgs:
    vocab_size: int = 32000
    dim: int = 4096  # hidden size
    n_layer: int = 32
    n_head: int = 32
    n_local_heads: int = -1  # key/value heads (GQA); -1 means as many as query heads
    head_dim: int = -1  # -1 means dim // n_head
    intermediate_size: int = 11008
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    # Hugging Face `rope_parameters` / `rope_scaling` (None or rope_type "default" = plain RoPE).
    rope_scaling: Optional[dict] = None
    max_position_embeddings: int = 4096
    qkv_bias: bool = False  # Qwen2 has q/k/v biases (Llama with attention_bias too)
    o_bias: bool = False  # Llama with attention_bias: o_proj has a bias as well
    tie_embeddings: bool = False
    # Mistral (every layer) / Qwen2 (the layers in window_layers): a query sees only the
    # `sliding_window` most recent keys, itself included (HF's `kv_idx > q_idx - window`).
    sliding_window: Optional[int] = None
    window_layers: Optional[List[int]] = None  # None: every layer when sliding_window is set
    architecture: str = "LlamaForCausalLM"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.n_local_heads == -1:
            self.n_local_heads = self.n_head
        if self.head_dim == -1:
            self.head_dim = self.dim // self.n_head
        if self.n_head % self.n_local_heads:
            raise ModelArgsError(
                f"n_head={self.n_head} is not a multiple of n_local_heads={self.n_local_heads}: "
                "grouped-query attention needs whole groups; check the checkpoint's config.json"
            )

    @classmethod
    def from_name(cls, name: str) -> "ModelArgs":
        if name not in PRESETS:
            raise ModelArgsError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**PRESETS[name])


PRESETS: dict[str, dict] = {
    # Tiny presets for tests: random weights, fast on a 2-core CPU.
    "tiny-llama": dict(vocab_size=128, dim=64, n_layer=2, n_head=4, n_local_heads=2,
                       intermediate_size=128, max_position_embeddings=256),
    "tiny-qwen2": dict(vocab_size=128, dim=64, n_layer=2, n_head=4, n_local_heads=1,
                       intermediate_size=96, qkv_bias=True, tie_embeddings=True,
                       rope_theta=1e6, max_position_embeddings=256,
                       architecture="Qwen2ForCausalLM"),
    # The demo checkpoint (SmolLM2-135M-Instruct).
    "smollm2-135m": dict(vocab_size=49152, dim=576, n_layer=30, n_head=9, n_local_heads=3,
                         intermediate_size=1536, norm_eps=1e-5, rope_theta=100000.0,
                         max_position_embeddings=8192, tie_embeddings=True),
    "llama-3.2-1b": dict(vocab_size=128256, dim=2048, n_layer=16, n_head=32, n_local_heads=8,
                         head_dim=64, intermediate_size=8192, rope_theta=500000.0,
                         rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                                           high_freq_factor=4.0,
                                           original_max_position_embeddings=8192),
                         max_position_embeddings=131072, tie_embeddings=True),
    "mistral-7b": dict(vocab_size=32768, dim=4096, n_layer=32, n_head=32, n_local_heads=8,
                       intermediate_size=14336, rope_theta=1e6, max_position_embeddings=32768,
                       architecture="MistralForCausalLM"),
    "qwen2.5-0.5b": dict(vocab_size=151936, dim=896, n_layer=24, n_head=14, n_local_heads=2,
                         intermediate_size=4864, norm_eps=1e-6, rope_theta=1e6, qkv_bias=True,
                         tie_embeddings=True, max_position_embeddings=32768,
                         architecture="Qwen2ForCausalLM"),
}


def rope_inv_freq(args: ModelArgs) -> tuple[Tensor, float]:
    """Inverse frequencies and attention scaling, as Hugging Face computes them per rope type."""
    base = 1.0 / (args.rope_theta ** (torch.arange(0, args.head_dim, 2, dtype=torch.int64).float()
                                      / args.head_dim))
    scaling = dict(args.rope_scaling or {})
    rope_type = scaling.get("rope_type", scaling.get("type", "default"))
    if rope_type == "default":
        return base, 1.0
    if rope_type == "linear":
        return base / float(scaling["factor"]), 1.0
    if rope_type == "llama3":
        factor = float(scaling["factor"])
        low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
        old_ctx = float(scaling["original_max_position_embeddings"])
        wavelen = 2 * math.pi / base
        scaled = torch.where(wavelen > old_ctx / low, base / factor, base)
        smooth = (old_ctx / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old_ctx / high) & ~(wavelen > old_ctx / low)
        return torch.where(medium, smoothed, scaled), 1.0
    raise ModelArgsError(
        f"rope type {rope_type!r} is not supported (supported: default, linear, llama3); "
        "use a checkpoint without it or add it to pipeline_lib/lm/model.py:rope_inv_freq"
    )


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        # Normalise in fp32 and cast back before the weight, exactly as Hugging Face does.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def apply_rope(x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
    """HF's `x * cos + rotate_half(x) * sin` with one roll instead of slice/neg/cat: rolling by
    half gives [x2, x1]; `signed_sin` is [-sin, sin], so the products are the same numbers."""
    return x * cos + x.roll(x.shape[-1] // 2, -1) * signed_sin


class Attention(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.n_head = args.n_head
        self.n_kv = args.n_local_heads
        self.head_dim = args.head_dim
        self.n_rep = args.n_head // args.n_local_heads
        total = (args.n_head + 2 * args.n_local_heads) * args.head_dim
        self.wqkv = Linear(args.dim, total, bias=args.qkv_bias)  # q, k, v fused: one matmul
        self.wo = Linear(args.n_head * args.head_dim, args.dim, bias=args.o_bias)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, k_cache: Tensor,
                v_cache: Tensor, cache_start: int,
                write_pos: Optional[Tensor] = None) -> Tensor:
        return self.wo(self.attend(self.wqkv(x), cos, sin, mask, k_cache, v_cache, cache_start,
                                   write_pos))

    def attend(self, qkv: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, k_cache: Tensor,
               v_cache: Tensor, cache_start: int, write_pos: Optional[Tensor] = None) -> Tensor:
        """Projected queries|keys|values [B, T, total] -> attention output [B, T, H*hd] (before
        `wo`), writing the new keys/values into the cache."""
        B, T, _ = qkv.shape
        q_size = self.n_head * self.head_dim
        qk, v = qkv.split([q_size + self.n_kv * self.head_dim, self.n_kv * self.head_dim], dim=-1)
        # RoPE on queries and keys in one go: [B, H + KV, T, hd]
        qk = apply_rope(qk.view(B, T, self.n_head + self.n_kv, self.head_dim).transpose(1, 2),
                        cos, sin)
        q, k = qk[:, : self.n_head], qk[:, self.n_head:]  # [B, H, T, hd], [B, KV, T, hd]
        v = v.view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
        end = cache_start + T
        if write_pos is None:
            k_cache[:, :, cache_start:end] = k
            v_cache[:, :, cache_start:end] = v
        else:
            # Engine decode (T == 1): row b writes at its own cache index write_pos[b], in place.
            index = write_pos.view(B, 1, 1, 1).expand(B, self.n_kv, 1, self.head_dim)
            k_cache.scatter_(2, index, k)
            v_cache.scatter_(2, index, v)
        # GQA without copying the cache: the n_rep query heads of one KV head become n_rep*T query
        # rows against that head ([B, KV, n_rep*T, hd]); `mask` comes already repeated to match.
        q = q.reshape(B, self.n_kv, self.n_rep * T, self.head_dim)
        y = F.scaled_dot_product_attention(q, k_cache[:, :, :end], v_cache[:, :, :end],
                                           attn_mask=mask)
        # reshape, not view: CUDA's attention kernels may return other strides than the CPU's.
        return y.reshape(B, self.n_head, T, self.head_dim).transpose(1, 2).reshape(B, T, q_size)


class FeedForward(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.hidden = args.intermediate_size
        self.w13 = Linear(args.dim, 2 * args.intermediate_size, bias=False)  # gate and up fused
        self.w2 = Linear(args.intermediate_size, args.dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.w13(x).split([self.hidden, self.hidden], dim=-1)
        return self.w2(F.silu(gate) * up)


class TransformerBlock(nn.Module):
    def __init__(self, args: ModelArgs, windowed: bool = False):
        super().__init__()
        self.windowed = windowed  # attends through the sliding-window mask
        self.attention = Attention(args)
        self.feed_forward = FeedForward(args)
        self.attention_norm = RMSNorm(args.dim, args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, args.norm_eps)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, k_cache: Tensor,
                v_cache: Tensor, cache_start: int,
                write_pos: Optional[Tensor] = None) -> Tensor:
        h = x + self.attention(self.attention_norm(x), cos, sin, mask, k_cache, v_cache,
                               cache_start, write_pos)
        return h + self.feed_forward(self.ffn_norm(h))

    @torch.jit.export
    def forward_mixed(self, x: Tensor, n_rows: int, cos_r: Tensor, sin_r: Tensor, mask_r: Tensor,
                      k_rows: Tensor, v_rows: Tensor, rows_start: int, write_pos: Tensor,
                      chunk_lens: List[int], cos_c: List[Tensor], sin_c: List[Tensor],
                      mask_c: List[Tensor], k_chunk: List[Tensor], v_chunk: List[Tensor],
                      chunk_start: List[int]) -> Tensor:
        """x [1, n_rows + sum(chunk_lens), dim]: one token per decode row (n_rows may be 0),
        then prefill chunks of other slots. The matmuls run once over every token; attention
        runs per group on its own cache views."""
        qkv = self.attention.wqkv(self.attention_norm(x))
        q_size = self.attention.n_head * self.attention.head_dim
        ys: List[Tensor] = []
        if n_rows > 0:
            y_rows = self.attention.attend(qkv[0, :n_rows].unsqueeze(1), cos_r, sin_r, mask_r,
                                           k_rows, v_rows, rows_start, write_pos)  # [n_rows, 1, q]
            ys.append(y_rows.reshape(1, n_rows, q_size))
        offset = n_rows
        for j in range(len(chunk_lens)):
            end = offset + chunk_lens[j]
            ys.append(self.attention.attend(qkv[:, offset:end], cos_c[j], sin_c[j], mask_c[j],
                                            k_chunk[j], v_chunk[j], chunk_start[j]))  # [1, T, q]
            offset = end
        h = x + self.attention.wo(torch.cat(ys, dim=1))
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.n_layer = args.n_layer
        self.n_kv = args.n_local_heads
        self.n_rep = args.n_head // args.n_local_heads
        self.head_dim = args.head_dim
        self.dim = args.dim
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.sliding_window = int(args.sliding_window or 0)  # 0: no window
        windowed = set(range(args.n_layer) if args.window_layers is None else args.window_layers)
        self.layers = nn.ModuleList(TransformerBlock(args, self.sliding_window > 0 and i in windowed)
                                    for i in range(args.n_layer))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.output = Linear(args.dim, args.vocab_size, bias=False)
        if args.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        inv_freq, attention_scaling = rope_inv_freq(args)
        # fp32 on purpose: cast only the weights (`cast_weights`), never this buffer.
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.attention_scaling = attention_scaling

    def cast_weights(self, dtype: torch.dtype) -> "Transformer":
        for p in self.parameters():
            p.data = p.data.to(dtype)
        return self

    def use_cpu_layout(self) -> "Transformer":
        """Store every fp32 matrix column-major: same shape and numbers, transposed strides.

        Why: batch-1 decode is matrix-vector work bound by memory bandwidth, and MKL streams a
        column-major weight for one input row faster than a row-major one (2-core EPYC, one
        thread: the 30 layers 33 -> 27 ms, the 49152x576 LM head 9.1 -> 5.5 ms per token), with
        no loss for many rows (prefill, batch 8). Not for bf16/fp16 (the CPU kernels fall off a
        cliff) nor GPU (cuBLAS does not care). TorchScript saves strides, so an export keeps it.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear) and module.weight.dtype == torch.float32:
                module.weight.data = module.weight.data.t().contiguous().t()
        return self

    def new_cache(self, batch: int, length: int, device: torch.device,
                  dtype: torch.dtype) -> List[Tensor]:
        """One [B, KV, length, head_dim] tensor per layer (call twice: keys and values)."""
        return [torch.zeros(batch, self.n_kv, length, self.head_dim, device=device, dtype=dtype)
                for _ in range(self.n_layer)]

    def forward(self, tokens: Tensor, positions: Tensor, mask: Tensor, k_caches: List[Tensor],
                v_caches: List[Tensor], cache_start: int,
                write_pos: Optional[Tensor] = None) -> Tensor:
        """tokens/positions [B, T] -> final normed hidden states [B, T, dim].

        mask: bool [B, 1, T, cache_start + T], True where a query may attend to a key.
        write_pos: None (the new keys/values go to cache indices [cache_start, cache_start + T) of
        every row), or int64 [B] for one-token steps (T == 1) of the engine, whose rows sit at
        different lengths: row b's key/value go to cache index write_pos[b] and attention reads
        keys [0, cache_start + 1) under `mask` (`pipeline_lib/engine/forward.py`).
        """
        x = self.tok_embeddings(tokens)
        cos, sin = self.rope(positions, x.dtype)
        mask, window_mask = self.masks(mask, cache_start, write_pos)
        for i, layer in enumerate(self.layers):
            layer_mask = window_mask if layer.windowed else mask
            x = layer(x, cos, sin, layer_mask, k_caches[i], v_caches[i], cache_start, write_pos)
        return self.norm(x)

    @torch.jit.export
    def forward_mixed(self, tokens: Tensor, row_mask: Tensor, k_rows: List[Tensor],
                      v_rows: List[Tensor], rows_start: int, write_pos: Tensor,
                      chunk_positions: List[Tensor], chunk_masks: List[Tensor],
                      k_chunks: List[List[Tensor]], v_chunks: List[List[Tensor]],
                      chunk_starts: List[int]) -> Tensor:
        """One engine step in one pass over the weights: decode rows and prefill chunks.

        tokens [1, B + sum T_j]: the B decode rows' tokens (B may be 0; their positions =
        write_pos [B]; row_mask [B, 1, 1, rows_start + 1] as in `forward`), then chunk j's T_j
        tokens of its own slot (chunk_positions[j] [1, T_j], chunk_masks[j]
        [1, 1, T_j, chunk_starts[j] + T_j], k_chunks[j] / v_chunks[j] its per-layer cache views)
        -> hidden [1, B + sum T_j, dim].
        Why: a CPU decode step is bound by reading the weights, and a GPU step by launching its
        kernels, so chunks computed in the same pass cost their arithmetic only.
        """
        x = self.tok_embeddings(tokens)
        n_rows = write_pos.shape[0]
        cos_r, sin_r = self.rope(write_pos.view(-1, 1), x.dtype)
        mask_r, window_r = self.masks(row_mask, rows_start, write_pos)
        chunk_lens: List[int] = []
        cos_c: List[Tensor] = []
        sin_c: List[Tensor] = []
        masks_c: List[Tensor] = []
        windows_c: List[Tensor] = []
        for j in range(len(chunk_positions)):
            chunk_lens.append(chunk_positions[j].shape[1])
            cos, sin = self.rope(chunk_positions[j], x.dtype)
            mask, window = self.masks(chunk_masks[j], chunk_starts[j], None)
            cos_c.append(cos)
            sin_c.append(sin)
            masks_c.append(mask)
            windows_c.append(window)
        for i, layer in enumerate(self.layers):
            x = layer.forward_mixed(x, n_rows, cos_r, sin_r, window_r if layer.windowed else mask_r,
                                    k_rows[i], v_rows[i], rows_start, write_pos, chunk_lens,
                                    cos_c, sin_c, windows_c if layer.windowed else masks_c,
                                    [k[i] for k in k_chunks], [v[i] for v in v_chunks],
                                    chunk_starts)
        return self.norm(x)

    def rope(self, positions: Tensor, dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
        """positions [B, T] -> cos, signed sin [B, 1, T, hd] (see apply_rope)."""
        freqs = positions.unsqueeze(-1).float() * self.inv_freq  # [B, T, hd/2]
        emb = torch.cat((freqs, freqs), dim=-1).unsqueeze(1)  # [B, 1, T, hd]
        half = freqs.shape[-1]
        cos = (emb.cos() * self.attention_scaling).to(dtype)
        sin = (emb.sin() * self.attention_scaling).to(dtype)
        return cos, torch.cat((-sin[..., :half], sin[..., half:]), dim=-1)

    def masks(self, mask: Tensor, cache_start: int,
              write_pos: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """The full and the sliding-window mask, repeated for GQA: [B, 1, n_rep*T, S] each."""
        windowing = 0 < self.sliding_window < mask.shape[-1]
        window_mask = self.window(mask, cache_start, write_pos) if windowing else mask
        if self.n_rep > 1:
            mask = mask.repeat(1, 1, self.n_rep, 1)  # see Attention
            window_mask = window_mask.repeat(1, 1, self.n_rep, 1) if windowing else mask
        return mask, window_mask

    def window(self, mask: Tensor, cache_start: int, write_pos: Optional[Tensor]) -> Tensor:
        """`mask` [B, 1, T, S] narrowed to keys less than `sliding_window` cache indices behind
        their query. Cache index and position differ by a constant per row (left padding), so
        this is HF's rule on positions. A query left with no key (the engine's idle rows, which
        see key 0 only) keeps its mask: its output is thrown away but must not be NaN."""
        T, S = mask.shape[2], mask.shape[3]
        keys = torch.arange(S, device=mask.device)
        if write_pos is None:
            queries = (cache_start + torch.arange(T, device=mask.device)).view(1, 1, T, 1)
        else:
            queries = write_pos.view(-1, 1, 1, 1)
        narrowed = mask & (queries - keys < self.sliding_window)
        return narrowed | (mask & ~narrowed.any(-1, keepdim=True))
