"""The LM on a CUDA device gives the CPU's answer: logits within fp32 tolerance and the same greedy
tokens (the production LM runs on a GPU; CI machines without one skip this honestly)."""

from __future__ import annotations

import pytest
import torch

from pipeline_lib.lm.validate import left_pad
from .test_model import ours_for
from .tiny_models import tiny_hf_model, uneven_prompts

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_matches_cpu_logits_and_greedy_tokens():
    model = ours_for(tiny_hf_model("llama"))
    ids, mask = left_pad(uneven_prompts(), pad_id=0)
    with torch.inference_mode():
        cpu_logits = model.prompt_logits(ids, mask)
        cpu_tokens, cpu_lengths, _ = model(ids, mask)
        gpu = model.to("cuda")
        gpu_logits = gpu.prompt_logits(ids.cuda(), mask.cuda()).cpu()
        gpu_tokens, gpu_lengths, _ = gpu(ids.cuda(), mask.cuda())
    assert (gpu_logits - cpu_logits).abs().max().item() < 1e-3
    assert torch.equal(gpu_tokens.cpu(), cpu_tokens)
    assert torch.equal(gpu_lengths.cpu(), cpu_lengths)
