"""Tiny random Hugging Face models built from transformers' own config classes (no download)."""

from __future__ import annotations

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

TINY = dict(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=96, max_position_embeddings=256, initializer_range=0.4,
            eos_token_id=None, bos_token_id=None, pad_token_id=0)

FAMILIES = {
    # GQA everywhere: 4 query heads share 2 (Llama, Mistral) or 1 (Qwen2) key/value heads.
    "llama": (LlamaConfig, LlamaForCausalLM, dict(num_key_value_heads=2,
                                                  rope_parameters={"rope_type": "default",
                                                                   "rope_theta": 50000.0})),
    "llama3-rope": (LlamaConfig, LlamaForCausalLM, dict(
        num_key_value_heads=2, tie_word_embeddings=True,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 32})),
    "mistral": (MistralConfig, MistralForCausalLM, dict(num_key_value_heads=2, sliding_window=256)),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM, dict(num_key_value_heads=1, tie_word_embeddings=True)),
    # Windows shorter than the longest prompt + new tokens (17 + 32): Mistral windows every layer,
    # Qwen2 only the layers from max_window_layers on.
    "mistral-window": (MistralConfig, MistralForCausalLM, dict(num_key_value_heads=2,
                                                               sliding_window=8)),
    "qwen2-window": (Qwen2Config, Qwen2ForCausalLM, dict(
        num_key_value_heads=1, use_sliding_window=True, sliding_window=6, max_window_layers=1)),
    # Llama's attention_bias: q/k/v and o_proj biases.
    "llama-bias": (LlamaConfig, LlamaForCausalLM, dict(num_key_value_heads=2, attention_bias=True)),
}


def tiny_hf_model(family: str, seed: int = 0, **overrides):
    config_cls, model_cls, extra = FAMILIES[family]
    torch.manual_seed(seed)
    config = config_cls(**{**TINY, **extra, **overrides})
    model = model_cls(config).eval()
    with torch.no_grad():  # HF inits biases to 0 and norms to 1; random ones make those paths count
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
            elif "norm" in name:
                p.normal_(1, 0.1)
    return model


def uneven_prompts(seed: int = 1, lengths=(5, 17, 11), vocab: int = 256) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, vocab, (n,), generator=g).tolist() for n in lengths]


def snap_to_quantized_grid(hf_model, scheme: str, group_size: int = 32):
    """Replace every matrix of a tiny HF model by its int8 (per channel) or int4 (per group)
    dequantized value, the LM head by its int8 one: a checkpoint that is already quantized, as
    the demo's GGUF (Q4_0 layers) is. Quantizing it again loses almost nothing, so the quality
    gates see only what the kernels add (bf16 activations)."""
    from pipeline_lib.lm.quant import Int8Linear, int4_dequantize, int4_quantize

    with torch.no_grad():
        for name, module in hf_model.named_modules():
            if not isinstance(module, torch.nn.Linear):
                continue
            w = module.weight
            if scheme == "int4" and name != "lm_head":
                w.copy_(int4_dequantize(*int4_quantize(w, group_size), group_size))
            else:
                w.copy_(Int8Linear.from_weight(w).dequantized())
    return hf_model
