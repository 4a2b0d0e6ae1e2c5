"""Weight-only int8/int4 layers: the kernels compute their dequantized weights (up to bf16
activations), an int4 grid is found again exactly, TorchScript equals eager, tiny models stay close
to fp32 Hugging Face, and specs the kernels cannot run are refused by name."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from pipeline_lib.lm.quality import _teacher_forced
from pipeline_lib.lm.quant import (Int4Linear, Int8Linear, QuantizationError, QuantSpec,
                                   int4_dequantize, int4_quantize, quantize_model, weight_bytes)
from pipeline_lib.lm.validate import left_pad
from .test_model import ours_for
from .tiny_models import snap_to_quantized_grid, tiny_hf_model, uneven_prompts

BF16_ACTIVATIONS_REL_ERROR = 5e-3  # rounding the input to bf16 costs ~2e-3 of the output norm


def rel_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    return ((got - expected).norm() / expected.norm()).item()


def test_int8_linear_computes_its_dequantized_weight_and_bias():
    torch.manual_seed(0)
    w, b = torch.randn(96, 64), torch.randn(96)
    layer = Int8Linear.from_weight(w, b)
    x = torch.randn(3, 5, 64)
    got = layer(x)
    assert got.shape == (3, 5, 96) and got.dtype == torch.float32
    assert rel_error(got, F.linear(x, layer.dequantized(), b)) < BF16_ACTIVATIONS_REL_ERROR
    # symmetric per-channel: every weight within half a step of its row's scale
    step = layer.scales.float()[:, None]
    assert ((layer.dequantized() - w).abs() <= 0.5 * step * (1 + 1e-3)).all()


@pytest.mark.parametrize("group_size", [32, 64])
def test_int4_linear_computes_its_dequantized_weight(group_size):
    torch.manual_seed(1)
    w, b = torch.randn(48, 128), torch.randn(48)
    q, scale, zero = int4_quantize(w, group_size)
    layer = Int4Linear.from_weight(w, group_size, b)
    x = torch.randn(7, 128)
    expected = F.linear(x, int4_dequantize(q, scale, zero, group_size), b)
    assert rel_error(layer(x), expected) < BF16_ACTIVATIONS_REL_ERROR
    assert rel_error(int4_dequantize(q, scale, zero, group_size), w) < 0.12  # 4 bits


def test_weights_already_on_an_int4_grid_are_found_again():
    """A Q4-style checkpoint (each group = (q - 8) * scale + zero, q spanning 0..15) is requantized
    without loss: the demo's GGUF layers are such weights."""
    g = torch.Generator().manual_seed(2)
    q = torch.randint(0, 16, (32, 64), generator=g)
    q[:, ::32], q[:, 1::32] = 0, 15  # every group spans the whole range
    scale = torch.rand(32, 2, generator=g).to(torch.bfloat16).float() + 0.01
    zero = (torch.randn(32, 2, generator=g) * 0.1).to(torch.bfloat16).float()
    w = int4_dequantize(q, scale, zero, 32)
    assert torch.allclose(int4_dequantize(*int4_quantize(w, 32), 32), w, atol=1e-6)


@pytest.mark.parametrize("scheme", ["int8", "int4"])
def test_quantized_model_scripts_and_keeps_close_to_fp32(scheme):
    hf = snap_to_quantized_grid(tiny_hf_model("llama"), scheme)
    lm = ours_for(hf)
    fp32_bytes = weight_bytes(lm.model)
    quantize_model(lm.model, QuantSpec(scheme, 32, "int8"))
    assert weight_bytes(lm.model) < fp32_bytes / (3 if scheme == "int8" else 5)
    rows = uneven_prompts()
    ids, mask = left_pad(rows, pad_id=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(lm)
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        eager, script = lm(ids, mask), scripted(ids, mask)
        assert torch.equal(eager[0], script[0])
        logits = scripted.prompt_logits(ids, mask)
        long_rows = uneven_prompts(seed=4, lengths=(60, 90, 75))
        report = _teacher_forced(scripted, hf, long_rows, [0] * 3, pad_id=0)
        for i, row in enumerate(rows):
            ref = hf(torch.tensor([row])).logits[0]
            assert rel_error(logits[i, ids.shape[1] - len(row):], ref) < 0.05
    # Tiny random models are full of near-ties (the real gate, 0.95, is for real checkpoints;
    # the demo model passes it): here 0.96 (int8) and 0.95 (int4) were measured.
    assert report["top1_agreement"] >= 0.9, report
    assert report["perplexity"] / report["reference_perplexity"] < 1.05


def test_specs_the_kernels_cannot_run_are_refused_by_name():
    lm = ours_for(tiny_hf_model("llama"))  # input widths 64 and 96
    with pytest.raises(QuantizationError, match=r"--group-size 64 .* choose one of \[32\]"):
        quantize_model(lm.model, QuantSpec("int4", 64, "int8"))
    with pytest.raises(QuantizationError, match="--quantize: 'int2'"):
        quantize_model(lm.model, QuantSpec("int2", 32, "int8"))
    odd = ours_for(tiny_hf_model("llama", vocab_size=250))  # head width not a multiple of 16
    with pytest.raises(QuantizationError, match="250 outputs, not a multiple of 16"):
        quantize_model(odd.model, QuantSpec("int4", 32, "int4"))
    quantize_model(odd.model, QuantSpec("int4", 32, "int8"))  # an int8 head has no such limit
