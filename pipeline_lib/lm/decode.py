"""Generation inside the module: prefill, one-token decode and sampling as small pure functions.

`PixelLM` is the unit we export: `forward(input_ids, attention_mask)` takes LEFT-padded prompts
(attention_mask 0 on padding) and returns `(output_ids [B, N], output_length [B, 1],
pooled_hidden [B, dim] fp32)`. N (max_new_tokens), the stop ids and the sampling settings are fixed
at construction, so one call to Triton returns a whole response.

- output_ids: generated tokens; a row that stopped holds its stop token at index output_length and
  `pad_id` after it (the layout of Hugging Face `generate` when pad_id is the EOS id).
- output_length: generated tokens before the stop token (the response proper).
- pooled_hidden: mean of the final normed hidden state over the real prompt tokens, fp32; a summary
  feature for the scoring model, defined as the `hf` runtime defines it so runtimes agree.
"""

from __future__ import annotations

from typing import List, Tuple

import torch
from torch import Tensor, nn

from pipeline_lib.lm.model import Transformer


def prefill_mask(attention_mask: Tensor) -> Tensor:
    """[B, T] 0/1 -> bool [B, 1, T, T]: causal, no padded keys; each query may always see itself
    (padding rows would otherwise attend to nothing and put NaN into the cache)."""
    T = attention_mask.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool, device=attention_mask.device).tril()
    keys = (attention_mask != 0)[:, None, None, :]
    eye = torch.eye(T, dtype=torch.bool, device=attention_mask.device)
    return (causal & keys) | eye


def positions_from_mask(attention_mask: Tensor) -> Tensor:
    """Left padding: the first real token of every row is position 0 (as in HF `generate`)."""
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


def strip_padding_columns(input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Drop the leading columns that are padding in every row (the tokenizer pads every request
    to a fixed width so Triton can batch them; attending over that padding is wasted work)."""
    real_column = (attention_mask != 0).any(0).to(torch.int32)
    start = int(torch.argmax(real_column))  # first column with a real token (0 if none)
    return input_ids[:, start:], attention_mask[:, start:]


def sample(logits: Tensor, temperature: float, top_p: float, generator: torch.Generator) -> Tensor:
    """[B, V] -> [B] next tokens: greedy when temperature <= 0, else temperature + nucleus."""
    if temperature <= 0.0:
        return torch.argmax(logits, dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
        # Drop a token when the mass before it already reaches top_p (the top token always stays).
        drop = (sorted_probs.cumsum(-1) - sorted_probs) >= top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    # Exponential race = sampling from probs, without a host sync or a renormalisation. The
    # generator is a CPU one whatever the device (TorchScript cannot make a CUDA generator), so
    # a seed gives the same draws on every device.
    noise = torch.empty(probs.shape, dtype=probs.dtype).exponential_(1.0, generator=generator)
    noise = noise.to(probs.device)
    return torch.argmax(probs / noise, dim=-1)


class PixelLM(nn.Module):
    def __init__(self, model: Transformer, *, max_new_tokens: int, stop_ids: List[int], pad_id: int,
                 max_seq_len: int, temperature: float = 0.0, top_p: float = 1.0, seed: int = 0):
        super().__init__()
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.max_seq_len = max_seq_len
        self.pad_id = pad_id
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.register_buffer("stop_ids", torch.tensor(stop_ids, dtype=torch.long,
                                                      device=model.norm.weight.device),
                             persistent=False)

    def _cache(self, batch: int, length: int,
               device: torch.device) -> Tuple[List[Tensor], List[Tensor]]:
        dtype = self.model.norm.weight.dtype  # activations (a quantized head has no .weight)
        return (self.model.new_cache(batch, length, device, dtype),
                self.model.new_cache(batch, length, device, dtype))

    def prefill(self, input_ids: Tensor, attention_mask: Tensor, k_caches: List[Tensor],
                v_caches: List[Tensor]) -> Tensor:
        """Run the padded prompts through the model, fill the cache; -> hidden [B, T, dim]."""
        mask = prefill_mask(attention_mask)
        return self.model(input_ids, positions_from_mask(attention_mask), mask, k_caches,
                          v_caches, 0)

    def decode_one_token(self, token: Tensor, position: Tensor, key_valid: Tensor,
                         k_caches: List[Tensor], v_caches: List[Tensor], cache_pos: int) -> Tensor:
        """token/position [B] at cache slot cache_pos -> hidden [B, dim]."""
        mask = key_valid[:, None, None, : cache_pos + 1]  # [B, 1, 1, S]
        h = self.model(token[:, None], position[:, None], mask, k_caches, v_caches, cache_pos)
        return h[:, 0]

    @torch.jit.export
    def prompt_logits(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Logits of every prompt position, fp32 [B, T, vocab]: what `pixel export` validates.
        Unlike `forward`, padding columns are kept so rows line up with the input."""
        B, T = input_ids.shape
        k_caches, v_caches = self._cache(B, T, input_ids.device)
        h = self.prefill(input_ids, attention_mask, k_caches, v_caches)
        return self.model.output(h).float()

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        input_ids, attention_mask = strip_padding_columns(input_ids, attention_mask)
        B, T = input_ids.shape
        N = self.max_new_tokens
        device = input_ids.device
        torch._assert(T + N <= self.max_seq_len,
                      "prompt length + max_new_tokens exceeds max_seq_len")
        generator = torch.Generator(device=torch.device("cpu"))  # see `sample`
        generator.manual_seed(self.seed)
        k_caches, v_caches = self._cache(B, T + N, device)
        key_valid = torch.ones(B, T + N, dtype=torch.bool, device=device)
        key_valid[:, :T] = (attention_mask != 0)
        real = attention_mask.to(torch.float32)[:, :, None]

        h = self.prefill(input_ids, attention_mask, k_caches, v_caches)
        pooled = (h.float() * real).sum(1) / real.sum(1).clamp(min=1.0)  # [B, dim]
        next_token = sample(self.model.output(h[:, -1]), self.temperature, self.top_p, generator)

        output_ids = torch.full((B, N), self.pad_id, dtype=torch.long, device=device)
        output_length = torch.zeros(B, dtype=torch.long, device=device)
        finished = torch.zeros(B, dtype=torch.bool, device=device)
        position = attention_mask.sum(-1)  # next position of every row
        for step in range(N):
            output_ids[:, step] = torch.where(finished, self.pad_id, next_token)
            stopped = (next_token[:, None] == self.stop_ids[None, :]).any(-1)
            output_length += (~finished & ~stopped).long()
            finished = finished | stopped
            if step == N - 1 or bool(finished.all()):
                break
            h1 = self.decode_one_token(next_token, position, key_valid, k_caches, v_caches,
                                       T + step)
            position = position + 1
            next_token = sample(self.model.output(h1), self.temperature, self.top_p, generator)
        return output_ids, output_length[:, None], pooled
