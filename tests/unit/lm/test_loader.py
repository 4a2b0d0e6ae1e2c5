"""Loading HF folders (single file and sharded) and the clear errors for wrong checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from pipeline_lib.lm.loader import CheckpointError, load_checkpoint

from .tiny_models import tiny_hf_model


def saved(tmp_path, family="qwen2", **save_kwargs):
    hf = tiny_hf_model(family)
    folder = tmp_path / family
    hf.save_pretrained(folder, **save_kwargs)
    return hf, folder


def logits_of(model, ids):
    from pipeline_lib.lm.decode import PixelLM

    lm = PixelLM(model, max_new_tokens=1, stop_ids=[], pad_id=0, max_seq_len=64)
    with torch.inference_mode():
        return lm.prompt_logits(ids, torch.ones_like(ids))


def test_sharded_checkpoint_loads_the_same_weights(tmp_path):
    hf, folder = saved(tmp_path, "llama", max_shard_size="60KB")
    assert (folder / "model.safetensors.index.json").is_file()
    ck = load_checkpoint(folder)
    ids = torch.tensor([[3, 9, 27, 81]])
    with torch.inference_mode():
        assert (logits_of(ck.model, ids)[0] - hf(ids).logits[0]).abs().max() < 1e-4
    assert ck.args.architecture == "LlamaForCausalLM" and ck.args.n_local_heads == 2


def test_missing_tensor_is_named(tmp_path):
    _, folder = saved(tmp_path)
    state = load_file(folder / "model.safetensors")
    del state["model.layers.1.mlp.up_proj.weight"]
    save_file(state, folder / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight'"):
        load_checkpoint(folder)


def test_wrong_shape_is_named_with_both_shapes(tmp_path):
    _, folder = saved(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["intermediate_size"] = 128  # the weights say 96
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"'model\.layers\.0\.mlp\.gate_proj\.weight' has shape "
                                              r"\[96, 64\], config\.json implies \[128, 64\]"):
        load_checkpoint(folder)


def test_unsupported_architecture_is_named(tmp_path):
    _, folder = saved(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["architectures"], cfg["model_type"] = ["GPT2LMHeadModel"], "gpt2"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unsupported architecture 'GPT2LMHeadModel'"):
        load_checkpoint(folder)


def test_missing_shard_and_missing_weights_are_reported(tmp_path):
    _, folder = saved(tmp_path, "llama", max_shard_size="60KB")
    shard = sorted(folder.glob("model-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(CheckpointError, match=f"shard {shard.name} .* is missing"):
        load_checkpoint(folder)
    (folder / "model.safetensors.index.json").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_checkpoint(folder)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="neither a checkpoint folder nor a .gguf"):
        load_checkpoint(tmp_path / "nothing-here")
