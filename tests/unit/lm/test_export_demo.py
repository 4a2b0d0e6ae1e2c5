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


@pytest.mark.slow
def test_demo_model_int4_export_passes_the_quality_gates(tmp_path):
    """The real gates (top-1 agreement >= 0.95 on both sets, perplexity ratio <= 1.05) on the
    demo model, int4 layers (group 32) + int8 head; measured 0.970 / 0.964 and 1.002."""
    out = tmp_path / "int4"
    report = export(ExportOptions(checkpoint="demo", out=out, max_new_tokens=32,
                                  quantize="int4", group_size=32))
    quality = report["quality"]
    assert report["passed"] and quality["min_top1_agreement"] == 0.95
    assert quality["prompts"]["top1_agreement"] >= 0.95
    assert quality["text"]["top1_agreement"] >= 0.95
    assert quality["text"]["perplexity_ratio"] <= 1.05
    tokenizer_rows = [[1, 9690, 198, 2683, 563], [28120, 905]]  # any ids: the file must run
    width = max(map(len, tokenizer_rows))
    ids = np.full((2, width), 2, np.int64)
    mask = np.zeros((2, width), np.int64)
    for i, row in enumerate(tokenizer_rows):
        ids[i, width - len(row):], mask[i, width - len(row):] = row, 1
    output_ids, output_length, _ = ExportedLMRunner(out / "model.pt").generate(ids, mask)
    assert output_ids.shape == (2, 32) and output_length.shape == (2,)
