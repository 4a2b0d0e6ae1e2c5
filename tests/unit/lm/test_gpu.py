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


def test_scripted_module_samples_on_cuda_as_on_cpu():
    """The exported (TorchScript) module on CUDA: greedy equals the CPU's, and a seeded sampled
    run is reproducible (its generator is a CPU one: TorchScript cannot make a CUDA generator)."""
    ids, mask = left_pad(uneven_prompts(), pad_id=0)
    with torch.inference_mode():
        cpu = torch.jit.script(ours_for(tiny_hf_model("llama")))
        gpu = torch.jit.script(ours_for(tiny_hf_model("llama")).to("cuda"))
        assert torch.equal(gpu(ids.cuda(), mask.cuda())[0].cpu(), cpu(ids, mask)[0])
        sampler = torch.jit.script(ours_for(tiny_hf_model("llama"), temperature=0.9, top_p=0.95,
                                            seed=7).to("cuda"))
        first = sampler(ids.cuda(), mask.cuda())[0].cpu()
        assert torch.equal(sampler(ids.cuda(), mask.cuda())[0].cpu(), first)


def test_engine_on_cuda_gives_the_cpu_engines_greedy_tokens():
    from pipeline_lib.engine import Engine, EngineSettings, GenerationRequest
    from tests.unit.engine.conftest import ours_from_hf

    hf = tiny_hf_model("llama")
    rows = uneven_prompts()
    requests = [GenerationRequest(i, r, max_new_tokens=16) for i, r in enumerate(rows)]
    settings = EngineSettings(n_slots=2, max_seq_len=96, prefill_chunk=4)
    cpu = Engine(ours_from_hf(hf), settings, stop_ids=[]).generate(requests)
    gpu = Engine(ours_from_hf(hf).to("cuda"), settings, stop_ids=[], device="cuda")
    assert gpu.generate(requests) == cpu
