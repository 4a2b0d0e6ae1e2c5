"""`pixel export` end to end on a tiny checkpoint: installs only what validated, nothing otherwise."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from pipeline_lib.cli import main as pixel
from pipeline_lib.lm.export import ExportOptions, export
from pipeline_lib.lm.runner import read_metadata
from pipeline_lib.lm.validate import VALIDATION_PROMPTS


def test_export_installs_a_validated_artifact(tiny_checkpoint, tmp_path):
    out = tmp_path / "export"
    steps = []
    report = export(ExportOptions(checkpoint=tiny_checkpoint, out=out, max_new_tokens=16),
                    progress=steps.append)
    assert report["passed"] and report["greedy_identical"]
    assert report["logits_max_abs_error"] <= 1e-3
    assert len(report["rows"]) == len(VALIDATION_PROMPTS)
    for name in ("model.pt", "metadata.json", "validation.json", "tokenizer.json"):
        assert (out / name).is_file(), name
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["max_new_tokens"] == 16 and metadata["stop_ids"] == [2]
    assert metadata["outputs"] == ["output_ids", "output_length", "pooled_hidden"]
    assert read_metadata(out / "model.pt")["architecture"] == "LlamaForCausalLM"
    assert json.loads((out / "validation.json").read_text())["passed"] is True
    assert "loading checkpoint" in steps and not (tmp_path / "export.tmp").exists()
    scripted = torch.jit.load(str(out / "model.pt"))
    ids, mask = torch.tensor([[2, 2, 5, 6, 7]]), torch.tensor([[0, 0, 1, 1, 1]])
    output_ids, output_length, pooled = scripted(ids, mask)
    assert output_ids.shape == (1, 16) and output_length.shape == (1, 1)
    assert pooled.shape == (1, 64) and pooled.dtype == torch.float32


def corrupt_missing_tensor(folder):
    state = load_file(folder / "model.safetensors")
    del state["model.layers.0.self_attn.k_proj.weight"]
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    return "missing tensor 'model.layers.0.self_attn.k_proj.weight'"


def corrupt_wrong_shape(folder):
    state = load_file(folder / "model.safetensors")
    state["model.norm.weight"] = torch.ones(65)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    return r"'model.norm.weight' has shape [65]"


def corrupt_architecture(folder):
    cfg = json.loads((folder / "config.json").read_text())
    cfg["architectures"] = ["FalconForCausalLM"]
    (folder / "config.json").write_text(json.dumps(cfg))
    return "unsupported architecture 'FalconForCausalLM'"


def corrupt_truncated_weights(folder):
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    return "model.safetensors"


@pytest.mark.parametrize("corrupt", [corrupt_missing_tensor, corrupt_wrong_shape,
                                     corrupt_architecture, corrupt_truncated_weights])
def test_bad_checkpoint_fails_clearly_and_installs_nothing(tiny_checkpoint, tmp_path, capsys,
                                                           corrupt):
    out = tmp_path / "export"
    out.mkdir()
    (out / "model.pt").write_text("the previous, working artifact")
    expected = corrupt(tiny_checkpoint)
    code = pixel(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out),
                  "--max-new-tokens", "8"])
    assert code != 0
    assert expected in " ".join(capsys.readouterr().err.split())
    assert (out / "model.pt").read_text() == "the previous, working artifact"
    assert sorted(p.name for p in out.iterdir()) == ["model.pt"]
    assert not (tmp_path / "export.tmp").exists()


def test_cli_export_succeeds_and_prints_the_error(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "cli-export"
    assert pixel(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out),
                  "--max-new-tokens", "8"]) == 0
    assert "installed" in capsys.readouterr().out
    assert json.loads((out / "metadata.json").read_text())["max_new_tokens"] == 8


def test_bf16_export_is_checked_exactly_on_an_fp32_upcast(tiny_checkpoint, tmp_path):
    out = tmp_path / "bf16"
    report = export(ExportOptions(checkpoint=tiny_checkpoint, out=out, dtype="bf16",
                                  max_new_tokens=16))
    assert report["passed"] and report["dtype"] == "bf16"
    exact = report["upcast_fp32"]
    assert exact["passed"] and exact["greedy_identical"] and exact["logits_max_abs_error"] <= 1e-3
    assert torch.jit.load(str(out / "model.pt")).model.output.weight.dtype == torch.bfloat16
    assert json.loads((out / "metadata.json").read_text())["dtype"] == "bf16"
