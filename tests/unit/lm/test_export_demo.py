"""The exported demo model (SmolLM2-135M-Instruct) through the runner equals Hugging Face `generate`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline_lib.lm.export import ExportOptions, export
from pipeline_lib.lm.runner import ExportedLMRunner

PROMPTS = (
    "I keep replaying an argument with my sister and feel guilty.",
    "What are some ways to calm down before an exam?",
    "Thank you",
)


@pytest.mark.slow
def test_exported_demo_model_greedy_equals_hugging_face(tmp_path, demo_tokenizer_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "demo"
    report = export(ExportOptions(checkpoint="demo", out=out, max_new_tokens=32))
    assert report["passed"] and report["logits_max_abs_error"] < 1e-3

    tokenizer = AutoTokenizer.from_pretrained(out)
    rows = [tokenizer.apply_chat_template([{"role": "user", "content": p}],
                                          add_generation_prompt=True, tokenize=True)
            for p in PROMPTS]
    rows = [list(r["input_ids"]) if hasattr(r, "keys") else list(r) for r in rows]
    width = 512  # as the tokenizer model pads every request
    ids = np.full((len(rows), width), tokenizer.pad_token_id, np.int64)
    mask = np.zeros((len(rows), width), np.int64)
    for i, row in enumerate(rows):
        ids[i, width - len(row):], mask[i, width - len(row):] = row, 1
    output_ids, output_length, _ = ExportedLMRunner(out / "model.pt").generate(ids, mask)

    hf = AutoModelForCausalLM.from_pretrained(demo_tokenizer_dir, dtype=torch.float32).eval()
    for i, row in enumerate(rows):
        with torch.inference_mode():
            ids = torch.tensor([row])
            ref = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=32,
                              do_sample=False)[0, len(row):].tolist()
        if 2 in ref:  # <|im_end|>: our output_length counts the tokens before it
            ref = ref[: ref.index(2)]
        assert output_ids[i, : output_length[i]].tolist() == ref, PROMPTS[i]
