"""Parity with Hugging Face on tiny random Llama, Mistral and Qwen2 models (GQA, uneven prompts).

The acceptance contract: fp32 logits within 1e-4 of Hugging Face and 32 greedy tokens identical,
each row of a left-padded batch compared with Hugging Face running that row alone, unpadded.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from pipeline_lib.lm.decode import PixelLM, sample
from pipeline_lib.lm.loader import args_from_hf_config, build_model
from pipeline_lib.lm.model import ModelArgs, Transformer
from pipeline_lib.lm.validate import left_pad
from .tiny_models import FAMILIES, tiny_hf_model, uneven_prompts

NEW_TOKENS = 32


def ours_for(hf_model, **kwargs) -> PixelLM:
    cfg = hf_model.config.to_dict() | {"architectures": [type(hf_model).__name__]}
    model = build_model(hf_model.state_dict(), args_from_hf_config(cfg))
    defaults = dict(max_new_tokens=NEW_TOKENS, stop_ids=[], pad_id=0, max_seq_len=256)
    return PixelLM(model, **(defaults | kwargs)).eval()


def hf_greedy(hf_model, row: list[int], n: int) -> list[int]:
    ids = torch.tensor([row])
    out = hf_model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                            min_new_tokens=n, do_sample=False, pad_token_id=0, eos_token_id=None)
    return out[0, len(row):].tolist()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_logits_and_greedy_tokens_match_hugging_face(family):
    hf = tiny_hf_model(family)
    ours = ours_for(hf)
    rows = uneven_prompts()
    ids, mask = left_pad(rows, pad_id=0)
    with torch.inference_mode():
        logits = ours.prompt_logits(ids, mask)
        out_ids, out_len, pooled = ours(ids, mask)
        for i, row in enumerate(rows):
            ref_out = hf(torch.tensor([row]), output_hidden_states=True)
            ref = ref_out.logits[0]
            # pooled_hidden: the final normed hidden state, mean over the prompt's real tokens
            assert torch.allclose(pooled[i], ref_out.hidden_states[-1][0].mean(0), atol=1e-4)
            ours_row = logits[i, ids.shape[1] - len(row):]
            assert (ours_row - ref).abs().max().item() < 1e-4, f"{family} row {i}"
            expected = hf_greedy(hf, row, NEW_TOKENS)
            assert out_ids[i].tolist() == expected, f"{family} row {i} greedy tokens differ"
            assert len(set(expected)) > 3  # a degenerate model would make this check hollow
    assert out_len[:, 0].tolist() == [NEW_TOKENS] * len(rows)
    assert pooled.dtype == torch.float32 and pooled.shape == (len(rows), hf.config.hidden_size)


def test_torchscript_module_equals_eager_module():
    ours = ours_for(tiny_hf_model("qwen2"))
    ids, mask = left_pad(uneven_prompts(), pad_id=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(ours)
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        eager = ours(ids, mask)
        script = scripted(ids, mask)
    assert torch.equal(eager[0], script[0]) and torch.equal(eager[1], script[1])
    assert torch.allclose(eager[2], script[2], atol=1e-5)


def test_rows_stop_at_their_own_stop_token_and_pad_after_it():
    hf = tiny_hf_model("llama")
    rows = uneven_prompts()
    free = ours_for(hf)
    ids, mask = left_pad(rows, pad_id=0)
    with torch.inference_mode():
        free_ids, _, _ = free(ids, mask)
        stop = int(free_ids[1, 4])  # a token row 1 emits at step 4: make it the stop token
        stopped_ids, lengths, _ = ours_for(hf, stop_ids=[stop], pad_id=7)(ids, mask)
    for i in range(len(rows)):
        free_row = free_ids[i].tolist()
        n = free_row.index(stop) if stop in free_row else NEW_TOKENS
        assert int(lengths[i, 0]) == n
        assert stopped_ids[i, :n].tolist() == free_row[:n]
        if n < NEW_TOKENS:
            assert int(stopped_ids[i, n]) == stop
            assert stopped_ids[i, n + 1:].tolist() == [7] * (NEW_TOKENS - n - 1)
    assert int(lengths[1, 0]) <= 4


def test_fully_padded_leading_columns_do_not_change_the_output():
    ours = ours_for(tiny_hf_model("mistral"))
    rows = uneven_prompts()
    ids, mask = left_pad(rows, pad_id=0)
    wide_ids = torch.cat([torch.zeros(3, 40, dtype=torch.long), ids], dim=1)
    wide_mask = torch.cat([torch.zeros(3, 40, dtype=torch.long), mask], dim=1)
    with torch.inference_mode():
        narrow, wide = ours(ids, mask), ours(wide_ids, wide_mask)
    assert torch.equal(narrow[0], wide[0])
    assert torch.allclose(narrow[2], wide[2], atol=1e-6)


def test_seeded_sampling_is_reproducible_and_top_p_narrows_to_the_top_token():
    logits = torch.randn(4, 50, generator=torch.Generator().manual_seed(3))
    draws = [sample(logits, 1.0, 1.0, torch.Generator().manual_seed(11)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])
    spread = {tuple(sample(logits, 1.0, 1.0, torch.Generator().manual_seed(s)).tolist())
              for s in range(8)}
    assert len(spread) > 1  # it does sample
    nucleus = sample(logits, 1.0, 1e-6, torch.Generator().manual_seed(5))
    assert torch.equal(nucleus, logits.argmax(-1))
    assert torch.equal(sample(logits, 0.0, 1.0, torch.Generator()), logits.argmax(-1))


def test_sampling_module_differs_from_greedy_but_repeats_itself():
    hf = tiny_hf_model("llama")
    ids, mask = left_pad(uneven_prompts(), pad_id=0)
    with torch.inference_mode():
        greedy = ours_for(hf)(ids, mask)[0]
        sampler = ours_for(hf, temperature=1.0, top_p=0.9, seed=42)
        a, b = sampler(ids, mask)[0], sampler(ids, mask)[0]
    assert torch.equal(a, b)
    assert not torch.equal(a, greedy)


def test_presets_build_and_tiny_preset_runs():
    model = Transformer(ModelArgs.from_name("tiny-qwen2")).eval()
    lm = PixelLM(model, max_new_tokens=4, stop_ids=[], pad_id=0, max_seq_len=64)
    out, length, pooled = lm(torch.tensor([[5, 6, 7]]), torch.ones(1, 3, dtype=torch.long))
    assert out.shape == (1, 4) and int(length) == 4 and pooled.shape == (1, 64)
    assert ModelArgs.from_name("smollm2-135m").head_dim == 64


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_cpu_layout_keeps_parity_for_one_row_and_a_padded_batch(family, tmp_path):
    """`use_cpu_layout` only changes strides: batch 1 (matrix-vector) and an uneven batch still
    match Hugging Face, and the layout survives TorchScript save/load (what an export ships)."""
    hf = tiny_hf_model(family)
    ours = ours_for(hf)
    ours.model.use_cpu_layout()
    weight = ours.model.layers[0].attention.wqkv.weight
    assert weight.stride() == (1, weight.shape[0])  # column-major, same shape
    rows = uneven_prompts()
    with torch.inference_mode():
        one, _, _ = ours(torch.tensor([rows[1]]), torch.ones(1, len(rows[1]), dtype=torch.long))
        batch, _, _ = ours(*left_pad(rows, pad_id=0))
    assert one[0].tolist() == hf_greedy(hf, rows[1], NEW_TOKENS)
    for i, row in enumerate(rows):
        assert batch[i].tolist() == hf_greedy(hf, row, NEW_TOKENS), f"{family} row {i}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(ours), str(tmp_path / "m.pt"))
        loaded = torch.jit.load(str(tmp_path / "m.pt"))
    saved = dict(loaded.named_parameters())["model.layers.0.attention.wqkv.weight"]
    assert saved.stride() == weight.stride() and torch.equal(saved, weight)
