"""Validation catches a module whose weights are not the reference's."""

from __future__ import annotations

from pipeline_lib.lm.decode import PixelLM
from pipeline_lib.lm.loader import args_from_hf_config, build_model
from pipeline_lib.lm.validate import left_pad, validate

from .tiny_models import tiny_hf_model, uneven_prompts


def module_for(hf):
    cfg = hf.config.to_dict() | {"architectures": [type(hf).__name__]}
    model = build_model(hf.state_dict(), args_from_hf_config(cfg))
    return PixelLM(model, max_new_tokens=8, stop_ids=[], pad_id=0, max_seq_len=64).eval()


def test_matching_module_passes():
    hf = tiny_hf_model("mistral")
    report = validate(module_for(hf), hf, uneven_prompts(), dtype="fp32", max_new_tokens=8,
                      stop_ids=[], pad_id=0)
    assert report["passed"] and report["logits_max_abs_error"] < 1e-4
    assert all(row["first_difference_at"] is None for row in report["rows"])


def test_module_with_other_weights_fails_and_says_where():
    reference = tiny_hf_model("mistral", seed=0)
    impostor = module_for(tiny_hf_model("mistral", seed=1))
    report = validate(impostor, reference, uneven_prompts(), dtype="fp32", max_new_tokens=8,
                      stop_ids=[], pad_id=0)
    assert not report["passed"]
    assert report["logits_max_abs_error"] > 1e-3
    assert not report["greedy_identical"]
    assert any(row["first_difference_at"] is not None for row in report["rows"])


def test_left_pad_lines_rows_up_on_the_right():
    ids, mask = left_pad([[7, 8], [1, 2, 3]], pad_id=0)
    assert ids.tolist() == [[0, 7, 8], [1, 2, 3]]
    assert mask.tolist() == [[0, 1, 1], [1, 1, 1]]


def test_bf16_module_with_other_weights_fails_the_relative_tolerance():
    import torch

    reference = tiny_hf_model("llama", seed=0).to(torch.bfloat16)
    impostor = module_for(tiny_hf_model("llama", seed=1))
    impostor.model.cast_weights(torch.bfloat16)
    honest = module_for(tiny_hf_model("llama", seed=0))
    honest.model.cast_weights(torch.bfloat16)
    kwargs = dict(dtype="bf16", max_new_tokens=8, stop_ids=[], pad_id=0)
    assert not validate(impostor, reference, uneven_prompts(), **kwargs)["passed"]
    assert validate(honest, reference, uneven_prompts(), **kwargs)["passed"]
