"""Greedy engine output equals Hugging Face `generate` for every request, alone and when requests
of different lengths join and leave mid-way (chunked prefill interleaved, holes in the slot range),
with and without the prefix cache."""

from __future__ import annotations

import pytest
import torch

from tests.unit.lm.tiny_models import FAMILIES, tiny_hf_model, uneven_prompts
from pipeline_lib.engine import Engine, EngineSettings, GenerationRequest
from pipeline_lib.engine import scheduler as scheduler_module
from .conftest import hf_greedy, ours_from_hf

N = 24


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_request_alone_equals_hugging_face(family):
    hf = tiny_hf_model(family)
    engine = Engine(ours_from_hf(hf), EngineSettings(n_slots=1, max_seq_len=96), stop_ids=[])
    rows = uneven_prompts()
    out = engine.generate([GenerationRequest(i, r, max_new_tokens=N) for i, r in enumerate(rows)])
    for i, row in enumerate(rows):
        expected = hf_greedy(hf, row, N)
        assert out[i] == expected, f"{family} request {i}"
        assert len(set(expected)) > 3  # a degenerate model would make this check hollow


def _spy_decode(monkeypatch) -> tuple[list[list[int]], list[int]]:
    """Record the slots of every decode step, alone or sharing its pass with a prefill chunk."""
    calls: list[list[int]] = []
    real, real_mixed = scheduler_module.decode_step, scheduler_module.mixed_step

    def spy(model, kv, *, slots, token_ids, positions):
        calls.append(list(slots))
        return real(model, kv, slots=slots, token_ids=token_ids, positions=positions)

    def spy_mixed(model, kv, *, slots, chunks, **rows):
        if slots:
            calls.append(list(slots))
        mixed.append([c.slot for c in chunks])
        return real_mixed(model, kv, slots=slots, chunks=chunks, **rows)

    mixed: list[int] = []
    monkeypatch.setattr(scheduler_module, "decode_step", spy)
    monkeypatch.setattr(scheduler_module, "mixed_step", spy_mixed)
    return calls, mixed


@pytest.mark.parametrize("family, torchscript", [("llama", True), ("qwen2", True),
                                                 ("mistral-window", True),
                                                 ("llama", False)])
def test_requests_joining_and_leaving_mid_way_equal_hugging_face(family, torchscript,
                                                                  monkeypatch):
    hf = tiny_hf_model(family)
    calls, mixed = _spy_decode(monkeypatch)
    # 3 slots, 7 requests: short ones leave early (holes in the slot range), late ones join while
    # others decode; a 4-token prefill chunk interleaves long prompts with decode steps.
    engine = Engine(ours_from_hf(hf), EngineSettings(n_slots=3, max_seq_len=96, prefill_chunk=4),
                    stop_ids=[], torchscript=torchscript)
    rows = uneven_prompts(seed=3, lengths=(5, 17, 11, 30, 3, 22, 9))
    budgets = [N, 6, N, 10, 3, N, 15]
    arrivals = {0: [0, 1, 2], 5: [3], 9: [4, 5], 20: [6]}  # step -> request indices submitted
    got: dict[int, list[int]] = {i: [] for i in range(len(rows))}
    reasons: dict[int, str] = {}
    step = 0
    while step < 500 and (step <= max(arrivals) or engine.has_work()):
        for i in arrivals.get(step, []):
            engine.submit(GenerationRequest(i, rows[i], max_new_tokens=budgets[i]))
        seen = set()
        for e in engine.step():
            assert e.request_id not in seen, "two events for one request in one step"
            seen.add(e.request_id)
            if e.token_id is not None:
                got[e.request_id].append(e.token_id)
            if e.finish_reason:
                reasons[e.request_id] = e.finish_reason
        step += 1
    for i, row in enumerate(rows):
        assert got[i] == hf_greedy(hf, row, budgets[i]), f"{family} request {i}"
        assert reasons[i] == "length"
    assert max(len(c) for c in calls) == 3  # full batches happened ...
    assert any(c != list(range(c[0], c[0] + len(c))) for c in calls)  # ... and holes
    assert mixed  # and prompts were computed in the decode rows' pass over the weights ...
    assert any(len(slots) > 1 for slots in mixed)  # ... several prompts in one pass
    assert engine.stats()["active_slots"] == 0 and engine.kv.free_count == 3


@pytest.mark.parametrize("family", ["llama", "qwen2", "mistral-window"])
def test_a_burst_of_prompts_is_computed_in_one_pass_and_equals_hugging_face(family, monkeypatch):
    hf = tiny_hf_model(family)
    calls, mixed = _spy_decode(monkeypatch)
    rows = uneven_prompts(seed=11, lengths=(7, 3, 12, 5))
    engine = Engine(ours_from_hf(hf), EngineSettings(n_slots=4, max_seq_len=64,
                                                     prefill_chunk=64), stop_ids=[])
    out = engine.generate([GenerationRequest(i, r, max_new_tokens=10) for i, r in enumerate(rows)])
    assert mixed[0] == [0, 1, 2, 3]  # step 1: every prompt, no decoding row yet, one model call
    assert engine.stats()["steps"] == 10  # then nine decode steps of all four rows
    for i, row in enumerate(rows):
        assert out[i] == hf_greedy(hf, row, 10), f"{family} request {i}"


def test_prefix_cache_gives_the_same_tokens_and_counts_what_it_saves():
    hf = tiny_hf_model("llama")
    model = ours_from_hf(hf)
    g = torch.Generator().manual_seed(5)
    system = torch.randint(3, 256, (13,), generator=g).tolist()
    other = torch.randint(3, 256, (6,), generator=g).tolist()
    tails = [torch.randint(3, 256, (n,), generator=g).tolist() for n in (4, 9, 1, 7)]
    prompts = [system + tails[0], system + tails[1], other + tails[2], system + tails[3], system]
    prefix = [13, 13, 6, 13, 13]  # the last prompt is all prefix: its last token is computed
    outs, stats = [], []
    for entries in (0, 16):
        engine = Engine(model, EngineSettings(n_slots=2, max_seq_len=64, prefill_chunk=5,
                                              prefix_cache_entries=entries), stop_ids=[])
        outs.append(engine.generate([GenerationRequest(i, p, prefix_len=n, max_new_tokens=12)
                                     for i, (p, n) in enumerate(zip(prompts, prefix))]))
        stats.append(engine.stats())
    assert outs[0] == outs[1]
    for i, p in enumerate(prompts):
        assert outs[1][i] == hf_greedy(hf, p, 12), f"request {i}"
    total = sum(len(p) for p in prompts)
    assert stats[0]["prefix_hits"] == 0 and stats[0]["prefill_tokens_computed"] == total
    # Hits: requests 1 and 3. Misses: the first `system` request, `other`, and the prompt that is
    # all prefix (its prefix is cut to 12 tokens so its last token is computed: another key).
    assert (stats[1]["prefix_hits"], stats[1]["prefix_misses"]) == (2, 3)
    assert stats[1]["prefill_tokens_saved"] == 13 + 13
    assert stats[1]["prefill_tokens_computed"] == total - (13 + 13)
    assert stats[1]["prefix_entries"] == 3


def test_prefix_cache_is_bounded_least_recently_used_first(tiny_llama):
    _, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=1, max_seq_len=32, prefix_cache_entries=2),
                    stop_ids=[])
    prefixes = {"a": [5, 6, 7], "b": [8, 9, 10], "c": [11, 12, 13]}
    for n, name in enumerate("abac"):  # c evicts b (a was used more recently)
        engine.generate([GenerationRequest(n, prefixes[name] + [20], prefix_len=3,
                                           max_new_tokens=2)])
    assert prefixes["a"] in engine.prefix_cache and prefixes["c"] in engine.prefix_cache
    assert prefixes["b"] not in engine.prefix_cache
    assert engine.stats()["prefix_hits"] == 1
