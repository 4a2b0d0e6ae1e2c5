"""Check an exported module against Hugging Face before it may be installed.

Two checks, on a fixed set of prompts run as one left-padded batch through the artifact and one by
one (unpadded) through Hugging Face: the prompt logits' max absolute error, and the greedy tokens,
which must be identical. The report is a plain dict, written as `validation.json` beside the artifact.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import torch

log = logging.getLogger(__name__)

# Prompts are product-shaped (support conversations) but synthetic: no user text is ever used here.
VALIDATION_PROMPTS = (
    "I've been feeling really anxious about work lately and can't sleep.",
    "Can you explain what a panic attack is?",
    "My friend stopped talking to me and I don't know why.",
    "Hi",
)

# fp32 is the parity contract: max abs logit error 1e-3, every greedy token identical.
FP32_LOGIT_TOLERANCE = 1e-3
# A bf16/fp16 file is checked exactly on an fp32 upcast of the same graph and rounded weights (see
# export.py); its native run is then compared with HF in the same dtype, where a padded row and an
# unpadded one round differently and greedy paths part on near-ties (seen on the demo model after
# 31 and 37 tokens). So natively the logits must stay within this share of the largest reference
# logit (bf16 keeps ~3 significant digits; other weights miss by ~100%) and greedy agreement is
# reported, not required.
REDUCED_PRECISION_RELATIVE_TOLERANCE = {"bf16": 0.1, "fp16": 0.02}


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row)
            mask[i, width - len(row):] = 1
    return ids, mask


def encode_prompts(tokenizer, prompts=VALIDATION_PROMPTS) -> list[list[int]]:
    rows = []
    for text in prompts:
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template([{"role": "user", "content": text}],
                                                 add_generation_prompt=True, tokenize=False)
        rows.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return rows


def hf_greedy(hf_model, row: list[int], *, max_new_tokens: int, stop_ids: list[int],
              pad_id: int) -> list[int]:
    """Hugging Face `generate`, greedy, one unpadded row; the response without its stop token."""
    ids = torch.tensor([row])
    out = hf_model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                            max_new_tokens=max_new_tokens, min_new_tokens=0,
                            eos_token_id=stop_ids or None, pad_token_id=pad_id,
                            num_beams=1, temperature=None, top_p=None, top_k=None)
    tokens = out[0, len(row):].tolist()
    for i, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[:i]
    return tokens


def validate(artifact, hf_model, rows: list[list[int]], *, dtype: str, max_new_tokens: int,
             stop_ids: list[int], pad_id: int,
             progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Compare `artifact` (a loaded PixelLM, scripted or eager) with `hf_model`; -> report dict.

    fp32: logits within FP32_LOGIT_TOLERANCE and greedy tokens identical. bf16/fp16: logits
    within the relative tolerance; greedy agreement reported only."""
    ids, mask = left_pad(rows, pad_id)
    report: dict[str, Any] = {"dtype": dtype, "prompts": len(rows), "greedy_tokens": max_new_tokens,
                              "greedy_required": dtype == "fp32", "rows": []}
    max_logit = 0.0
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        progress("prompt logits")
        ours_logits = artifact.prompt_logits(ids, mask)
        progress("greedy decode (exported module, one padded batch)")
        out_ids, out_len, _ = artifact(ids, mask)
        max_err = 0.0
        all_equal = True
        for i, row in enumerate(rows):
            progress(f"Hugging Face reference, prompt {i + 1}/{len(rows)}")
            ref_logits = hf_model(torch.tensor([row])).logits[0].float()
            err = (ours_logits[i, ids.shape[1] - len(row):] - ref_logits).abs().max().item()
            ref_tokens = hf_greedy(hf_model, row, max_new_tokens=max_new_tokens,
                                   stop_ids=stop_ids, pad_id=pad_id)
            ours = out_ids[i, : int(out_len[i, 0])].tolist()
            same = ours == ref_tokens
            max_logit = max(max_logit, ref_logits.abs().max().item())
            first_diff = next((j for j, (a, b) in enumerate(zip(ours, ref_tokens)) if a != b),
                              None if len(ours) == len(ref_tokens) else
                              min(len(ours), len(ref_tokens)))
            report["rows"].append({"prompt_tokens": len(row), "logits_max_abs_error": err,
                                   "tokens": len(ours), "reference_tokens": len(ref_tokens),
                                   "greedy_identical": same, "first_difference_at": first_diff})
            max_err = max(max_err, err)
            all_equal = all_equal and same
    report["logits_max_abs_error"] = max_err
    report["greedy_identical"] = all_equal
    if dtype == "fp32":
        report["logit_tolerance"] = FP32_LOGIT_TOLERANCE
        report["passed"] = bool(all_equal and max_err <= FP32_LOGIT_TOLERANCE)
    else:
        report["logit_tolerance"] = REDUCED_PRECISION_RELATIVE_TOLERANCE[dtype] * max_logit
        report["passed"] = bool(max_err <= report["logit_tolerance"])
    log.info("validation: max abs logit error %.3g, greedy identical %s", max_err, all_equal)
    return report
