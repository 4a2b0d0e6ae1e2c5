"""Fixtures: tiny random Hugging Face models and our Transformer built from the same weights."""

from __future__ import annotations

import pytest
import torch

from tests.unit.lm.tiny_models import tiny_hf_model
from pipeline_lib.lm.loader import args_from_hf_config, build_model
from pipeline_lib.lm.model import Transformer


def ours_from_hf(hf_model) -> Transformer:
    """Our eager Transformer with the HF model's weights, in the CPU layout exports use."""
    cfg = hf_model.config.to_dict() | {"architectures": [type(hf_model).__name__]}
    return build_model(hf_model.state_dict(), args_from_hf_config(cfg)).use_cpu_layout()


def hf_greedy(hf_model, row: list[int], n: int, eos: int | None = None) -> list[int]:
    """Hugging Face `generate`, greedy, one unpadded row; the EOS token (if any) is cut off."""
    ids = torch.tensor([row])
    with torch.inference_mode():
        out = hf_model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                                min_new_tokens=1 if eos is not None else n, do_sample=False,
                                pad_token_id=0, eos_token_id=eos)
    tokens = out[0, len(row):].tolist()
    return tokens[: tokens.index(eos)] if eos is not None and eos in tokens else tokens


@pytest.fixture(scope="module")
def tiny_llama():
    hf = tiny_hf_model("llama")
    return hf, ours_from_hf(hf)


@pytest.fixture(scope="session")
def demo_dir():
    from pipeline_lib.checkpoints import ensure_demo_checkpoint

    return ensure_demo_checkpoint()
