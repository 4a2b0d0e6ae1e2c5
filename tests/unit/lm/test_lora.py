"""A PEFT LoRA adapter merged by our loader equals PEFT's own merge_and_unload."""

from __future__ import annotations

import json

import peft  # the `lora` extra, installed by `make setup`
import pytest
import torch

from pipeline_lib.lm.decode import PixelLM
from pipeline_lib.lm.loader import load_checkpoint
from pipeline_lib.lm.lora import AdapterError

from .tiny_models import tiny_hf_model


@pytest.fixture
def base_and_adapter(tmp_path):
    hf = tiny_hf_model("llama")
    base = tmp_path / "base"
    hf.save_pretrained(base)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    lora = peft.get_peft_model(tiny_hf_model("llama"), config)
    torch.manual_seed(7)
    with torch.no_grad():  # PEFT starts B at zero (a no-op adapter); make the update real
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.2)
    adapter = tmp_path / "adapter"
    lora.save_pretrained(adapter)
    return base, adapter, lora.merge_and_unload().eval()


def test_merged_adapter_matches_peft(base_and_adapter):
    base, adapter, merged_reference = base_and_adapter
    ck = load_checkpoint(base, adapter=adapter)
    plain = load_checkpoint(base)
    ids = torch.tensor([[5, 17, 99, 3, 42]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        ours = PixelLM(ck.model, max_new_tokens=1, stop_ids=[], pad_id=0,
                       max_seq_len=64).prompt_logits(ids, mask)
        without = PixelLM(plain.model, max_new_tokens=1, stop_ids=[], pad_id=0,
                          max_seq_len=64).prompt_logits(ids, mask)
        reference = merged_reference(ids).logits
    assert (ours - reference).abs().max() < 1e-4
    assert (without - reference).abs().max() > 1e-2  # the adapter changed something


def test_adapter_for_another_model_size_fails_clearly(base_and_adapter, tmp_path):
    _, adapter, _ = base_and_adapter
    other = tmp_path / "other"
    tiny_hf_model("llama", hidden_size=32).save_pretrained(other)
    with pytest.raises(AdapterError, match="another model size"):
        load_checkpoint(other, adapter=adapter)


def test_unsupported_adapter_options_are_named(base_and_adapter):
    base, adapter, _ = base_and_adapter
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["use_dora"] = True
    (adapter / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(AdapterError, match="use_dora"):
        load_checkpoint(base, adapter=adapter)
