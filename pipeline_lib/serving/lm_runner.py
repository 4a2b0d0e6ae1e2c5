"""LM runtimes behind the `pixel_lm` Python-backend model.

Every runner takes left-padded [B, T] ids + mask and returns (output_ids [B, N] padded with the pad
id, output_length [B], pooled_hidden [B, H]). `hf` runs Hugging Face `generate` (the reference);
`python` runs the exported TorchScript module (pipeline_lib.lm.runner).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline_lib.errors import ConfigError

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def strip_common_padding(input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop leading columns that are padding in every row (prompts are padded to a fixed length)."""
    used = attention_mask.any(axis=0)
    first = int(np.argmax(used)) if used.any() else attention_mask.shape[1] - 1
    return input_ids[:, first:], attention_mask[:, first:]


def lengths_until_eos(tokens: np.ndarray, eos_ids: set[int]) -> np.ndarray:
    """Per row: tokens before the first EOS (EOS excluded), or the full width."""
    is_eos = np.isin(tokens, list(eos_ids))
    return np.where(is_eos.any(axis=1), is_eos.argmax(axis=1), tokens.shape[1]).astype(np.int64)


class HFGenerateRunner:
    """Greedy Hugging Face `generate` with the checkpoint's own generation settings."""

    def __init__(self, checkpoint_dir: str | Path, *, max_new_tokens: int, dtype: str = "fp32",
                 device: str = "cpu"):
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.device = device
        self.model = AutoModelForCausalLM.from_pretrained(
            str(checkpoint_dir), dtype=getattr(torch, DTYPES[dtype])).to(device).eval()
        gen = self.model.generation_config
        eos = gen.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.pad_id = gen.pad_token_id if gen.pad_token_id is not None else min(self.eos_ids)
        self.max_new_tokens = max_new_tokens

    def generate(self, input_ids: np.ndarray, attention_mask: np.ndarray):
        torch = self.torch
        ids, mask = strip_common_padding(input_ids, attention_mask)
        ids_t = torch.from_numpy(np.ascontiguousarray(ids)).to(self.device)
        mask_t = torch.from_numpy(np.ascontiguousarray(mask)).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids_t, attention_mask=mask_t, max_new_tokens=self.max_new_tokens,
                do_sample=False, pad_token_id=self.pad_id, return_dict_in_generate=True,
                output_hidden_states=True)
        new = out.sequences[:, ids.shape[1]:].cpu().numpy()
        # Prefill hidden states of the last layer (after the final norm), mean over real tokens.
        last = out.hidden_states[0][-1].float()
        weights = mask_t.unsqueeze(-1).float()
        pooled = ((last * weights).sum(1) / weights.sum(1).clamp(min=1)).cpu().numpy()
        lengths = lengths_until_eos(new, self.eos_ids)
        padded = np.full((len(new), self.max_new_tokens), self.pad_id, dtype=np.int64)
        for row, n in enumerate(lengths):
            padded[row, :n] = new[row, :n]
        return padded, lengths, pooled.astype(np.float32)


def make_runner(settings: dict, artifacts: Path):
    """Build the runner the rendered config asks for; artifacts holds checkpoint/ or model.pt."""
    runtime = settings.get("runtime")
    if runtime == "hf":
        return HFGenerateRunner(artifacts / "checkpoint", max_new_tokens=settings["max_new_tokens"],
                                dtype=settings.get("dtype", "fp32"), device=settings.get("device", "cpu"))
    if runtime == "python":
        from pipeline_lib.lm.runner import ExportedLMRunner

        runner = ExportedLMRunner(artifacts / "model.pt", device=settings.get("device", "cpu"),
                                  dtype=settings.get("dtype"))
        if runner.max_new_tokens != settings["max_new_tokens"]:
            raise ConfigError(
                f"lm.max_new_tokens: the config says {settings['max_new_tokens']} but the exported "
                f"file was made with {runner.max_new_tokens}: re-export with "
                f"`pixel export --max-new-tokens {settings['max_new_tokens']}` or change the config")
        return runner
    raise ConfigError(f"lm.runtime: {runtime!r} cannot run in the Python backend (hf or python)")
