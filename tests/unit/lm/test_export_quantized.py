"""`pixel export --quantize` on tiny checkpoints: installs a file that passes the quality gates
(with the report in validation.json), installs nothing when the gates fail, refuses what the
kernels cannot run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from pipeline_lib.cli import main as pixel
from pipeline_lib.lm.export import ExportOptions, export
from pipeline_lib.lm.runner import ExportedLMRunner
from .tiny_models import snap_to_quantized_grid, tiny_hf_model


@pytest.fixture
def int4_grid_checkpoint(tmp_path, demo_tokenizer_dir):
    """A tiny random Llama (demo tokenizer) whose weights are already on the int4 grid, as the
    demo checkpoint's GGUF layers are: quantizing it costs only the kernels' bf16 activations."""
    model = tiny_hf_model("llama", vocab_size=49152, eos_token_id=2, pad_token_id=2)
    folder = tmp_path / "tiny-int4-grid"
    snap_to_quantized_grid(model, "int4").save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(demo_tokenizer_dir / name, folder / name)
    return folder


def test_quantized_export_passes_the_gates_and_runs(int4_grid_checkpoint, tmp_path):
    """Gates at 0.9 here: a tiny random model is full of near-ties, so bf16 activations alone
    flip ~7 % of its top-1 tokens (0.922 / 0.932 measured); the demo model passes the real
    0.95 (test_export_demo.py)."""
    out = tmp_path / "int4"
    export(ExportOptions(checkpoint=int4_grid_checkpoint, out=out, max_new_tokens=16,
                         quantize="int4", group_size=32, min_top1_agreement=0.9))
    report = json.loads((out / "validation.json").read_text())
    quality = report["quality"]
    assert report["passed"] and quality["failures"] == []
    for key in ("prompts", "text"):
        assert quality[key]["top1_agreement"] >= quality["min_top1_agreement"] == 0.9
    assert quality["prompts"]["positions"] == 4 * 16  # 4 prompts x the reference's 16 tokens
    assert quality["text"]["positions"] > 500  # the paragraphs of data/lm/quality_text.md
    assert quality["text"]["perplexity_ratio"] <= quality["max_perplexity_ratio"]
    assert 0.0 <= quality["greedy_prefix_agreement"] <= 1.0
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["quantization"] == {"scheme": "int4", "group_size": 32, "head": "int8",
                                        "activations": "bf16"}
    buffers = dict(torch.jit.load(str(out / "model.pt")).named_buffers())
    assert buffers["model.layers.0.attention.wqkv.weight_int4"].dtype == torch.uint8
    runner = ExportedLMRunner(out / "model.pt")
    ids = np.array([[2, 2, 5, 6, 7], [8, 9, 10, 11, 12]], np.int64)
    mask = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], np.int64)
    output_ids, output_length, pooled = runner.generate(ids, mask)
    assert output_ids.shape == (2, 16) and pooled.shape == (2, 64)
    assert np.isfinite(pooled).all()


def test_a_file_failing_the_gates_is_not_installed(tiny_checkpoint, tmp_path):
    """Random tiny weights with an int4 LM head: top-1 agreement ~0.2, far below 0.95."""
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("previous install")
    with pytest.raises(Exception, match="fails its quality gates against fp32 .*top-1 agreement"):
        export(ExportOptions(checkpoint=tiny_checkpoint, out=out, max_new_tokens=8,
                             quantize="int4", quantize_head="int4"))
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    failed = json.loads((tmp_path / "export.validation-failed.json").read_text())
    assert failed["passed"] is False and failed["quality"]["failures"]
    assert not (tmp_path / "export.tmp").exists()


@pytest.mark.parametrize("flags, message", [
    (["--quantize", "int4", "--dtype", "bf16"], "--quantize needs --dtype fp32 --device cpu"),
    (["--quantize", "int4", "--group-size", "48"], "--group-size 48 does not divide"),
])
def test_quantize_options_the_kernels_cannot_run_are_refused(tiny_checkpoint, tmp_path, capsys,
                                                            flags, message):
    out = tmp_path / "export"
    assert pixel(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out),
                  *flags]) != 0
    assert message in capsys.readouterr().err
    assert not out.exists()
