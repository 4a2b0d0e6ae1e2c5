"""Scheduling rules: finish reasons, cancellation, validation, error isolation, sampling seeds."""

from __future__ import annotations

import pytest

from tests.unit.lm.tiny_models import uneven_prompts
from pipeline_lib.engine import Engine, EngineSettings, GenerationRequest, TokenEvent
from pipeline_lib.engine import scheduler as scheduler_module
from pipeline_lib.errors import InvalidInputError
from .conftest import hf_greedy

ROWS = uneven_prompts(seed=7, lengths=(6, 14, 9))


def run(engine: Engine, max_steps: int = 500) -> list[list[TokenEvent]]:
    steps = []
    while engine.has_work() and len(steps) < max_steps:
        steps.append(engine.step())
    assert not engine.has_work()
    return steps


def test_stop_token_ends_a_request_and_is_not_part_of_it(tiny_llama):
    hf, model = tiny_llama
    free = hf_greedy(hf, ROWS[0], 12)
    stop = free[5]
    expected = free[: free.index(stop)]
    engine = Engine(model, EngineSettings(n_slots=2, max_seq_len=64), stop_ids=[stop])
    engine.submit(GenerationRequest("a", ROWS[0], max_new_tokens=12))
    events = [e for step in run(engine) for e in step]
    assert [e.token_id for e in events[:-1]] == expected
    assert events[-1] == TokenEvent("a", None, "stop")
    assert all(e.finish_reason is None for e in events[:-1])
    assert hf_greedy(hf, ROWS[0], 12, eos=stop) == expected


def test_length_limit_and_one_token_replies(tiny_llama):
    hf, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=2, max_seq_len=64), stop_ids=[])
    engine.submit(GenerationRequest("one", ROWS[0], max_new_tokens=1))
    engine.submit(GenerationRequest("five", ROWS[1], max_new_tokens=5))
    events = [e for step in run(engine) for e in step]
    one = [e for e in events if e.request_id == "one"]
    five = [e for e in events if e.request_id == "five"]
    assert one == [TokenEvent("one", hf_greedy(hf, ROWS[0], 1)[0], "length")]
    assert [e.token_id for e in five] == hf_greedy(hf, ROWS[1], 5)
    assert five[-1].finish_reason == "length" and five[-1].token_id is not None


def test_default_max_new_tokens_shrinks_to_fit_the_slot(tiny_llama):
    _, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=1, max_seq_len=20, default_max_new_tokens=50),
                    stop_ids=[])
    out = engine.generate([GenerationRequest("r", ROWS[1])])  # 14 prompt tokens
    assert len(out["r"]) == 20 - 14


def test_cancel_frees_the_slot_and_the_next_request_is_served(tiny_llama):
    hf, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=1, max_seq_len=64), stop_ids=[])
    engine.submit(GenerationRequest("long", ROWS[0], max_new_tokens=40))
    engine.submit(GenerationRequest("queued", ROWS[1], max_new_tokens=5))
    engine.submit(GenerationRequest("next", ROWS[2], max_new_tokens=6))
    for _ in range(3):
        engine.step()
    assert engine.stats()["active_slots"] == 1 and engine.stats()["waiting"] == 2
    assert engine.cancel("long") and engine.cancel("queued")
    assert not engine.cancel("nobody")
    events = engine.step()
    assert TokenEvent("long", None, "cancelled") in events
    assert TokenEvent("queued", None, "cancelled") in events
    rest = events + [e for step in run(engine) for e in step]
    assert [e.token_id for e in rest if e.request_id == "next"] == hf_greedy(hf, ROWS[2], 6)
    assert engine.stats()["active_slots"] == 0 and engine.kv.free_count == 1


@pytest.mark.parametrize("request_kwargs, field", [
    (dict(prompt_ids=[]), "prompt_ids"),
    (dict(prompt_ids=[1, 2, 999]), "prompt_ids"),
    (dict(prompt_ids=[1, "2"]), "prompt_ids"),
    (dict(prompt_ids=[1] * 30, max_new_tokens=3), "max_new_tokens"),  # 30 + 3 > 32
    (dict(prompt_ids=[1] * 32), "prompt_ids"),  # no room left for one token
    (dict(prompt_ids=[1, 2], max_new_tokens=0), "max_new_tokens"),
    (dict(prompt_ids=[1, 2], temperature=-0.5), "temperature"),
    (dict(prompt_ids=[1, 2], top_p=0.0), "top_p"),
    (dict(prompt_ids=[1, 2], top_p=1.5), "top_p"),
    (dict(prompt_ids=[1, 2], prefix_len=3), "prefix_len"),
])
def test_bad_requests_are_refused_naming_the_field(tiny_llama, request_kwargs, field):
    _, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=1, max_seq_len=32), stop_ids=[])
    with pytest.raises(InvalidInputError) as err:
        engine.submit(GenerationRequest("r", **request_kwargs))
    assert err.value.field == field
    assert not engine.has_work()


def test_a_request_id_in_use_is_refused(tiny_llama):
    _, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=1, max_seq_len=32), stop_ids=[])
    engine.submit(GenerationRequest("r", [1, 2]))
    with pytest.raises(InvalidInputError, match="request_id"):
        engine.submit(GenerationRequest("r", [3, 4]))


def test_a_failing_row_ends_in_error_and_the_others_go_on(tiny_llama, monkeypatch):
    hf, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=3, max_seq_len=64), stop_ids=[])
    real_decode, real_prefill = scheduler_module.decode_step, scheduler_module.prefill_chunk
    engine.submit(GenerationRequest("bad-decode", ROWS[0], max_new_tokens=8))
    engine.submit(GenerationRequest("good", ROWS[1], max_new_tokens=8))
    engine.submit(GenerationRequest("bad-prefill", ROWS[2], max_new_tokens=8))
    bad_slot = 0  # the first request gets the lowest slot

    def decode(model, kv, *, slots, token_ids, positions):
        if bad_slot in slots and len(token_ids) and positions[0] > len(ROWS[0]) + 2:
            raise RuntimeError("boom")
        return real_decode(model, kv, slots=slots, token_ids=token_ids, positions=positions)

    def prefill(model, kv, *, slot, token_ids, start, want_logits):
        if slot == 2:  # bad-prefill's slot (its prompt may go in several chunks)
            raise RuntimeError("bad prompt")
        return real_prefill(model, kv, slot=slot, token_ids=token_ids, start=start,
                            want_logits=want_logits)

    def mixed(model, kv, *, slots, token_ids, positions, chunks):
        # the shared pass fails when any part would; the engine then runs them apart
        if any(c.slot == 2 for c in chunks) or (bad_slot in slots
                                                and positions[0] > len(ROWS[0]) + 2):
            raise RuntimeError("shared pass")
        return real_mixed(model, kv, slots=slots, token_ids=token_ids, positions=positions,
                          chunks=chunks)

    real_mixed = scheduler_module.mixed_step
    monkeypatch.setattr(scheduler_module, "decode_step", decode)
    monkeypatch.setattr(scheduler_module, "prefill_chunk", prefill)
    monkeypatch.setattr(scheduler_module, "mixed_step", mixed)
    events = [e for step in run(engine) for e in step]
    last = {e.request_id: e for e in events}
    assert last["bad-prefill"].finish_reason == "error" and "bad prompt" in last["bad-prefill"].detail
    assert last["bad-decode"].finish_reason == "error" and "boom" in last["bad-decode"].detail
    assert [e.token_id for e in events if e.request_id == "good"] == hf_greedy(hf, ROWS[1], 8)
    assert engine.kv.free_count == 3


def test_seeded_sampling_is_reproducible_whatever_shares_the_batch(tiny_llama):
    _, model = tiny_llama
    settings = EngineSettings(n_slots=4, max_seq_len=64)
    sampled = dict(temperature=1.5, top_p=0.9, max_new_tokens=16)

    def alone(seed):
        engine = Engine(model, settings, stop_ids=[])
        return engine.generate([GenerationRequest("s", ROWS[0], seed=seed, **sampled)])["s"]

    engine = Engine(model, settings, stop_ids=[])
    crowd = engine.generate([GenerationRequest("g", ROWS[1], max_new_tokens=10),
                             GenerationRequest("s", ROWS[0], seed=11, **sampled),
                             GenerationRequest("t", ROWS[2], seed=12, **sampled)])
    assert crowd["s"] == alone(11)
    assert alone(11) != alone(12)  # the seed matters
    greedy = Engine(model, settings, stop_ids=[]).generate(
        [GenerationRequest("s", ROWS[0], max_new_tokens=16)])["s"]
    assert crowd["s"] != greedy  # and it really sampled


def test_settings_defaults_apply_to_requests_that_leave_them_out(tiny_llama):
    _, model = tiny_llama
    hot = EngineSettings(n_slots=1, max_seq_len=64, temperature=2.0, seed=3)
    a = Engine(model, hot, stop_ids=[]).generate([GenerationRequest(0, ROWS[0], max_new_tokens=12)])
    b = Engine(model, hot, stop_ids=[]).generate([GenerationRequest(0, ROWS[0], max_new_tokens=12,
                                                                    temperature=2.0, seed=3)])
    c = Engine(model, EngineSettings(n_slots=1, max_seq_len=64), stop_ids=[]).generate(
        [GenerationRequest(0, ROWS[0], max_new_tokens=12)])
    assert a == b and a != c


def test_stats_count_steps_and_tokens(tiny_llama):
    _, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=2, max_seq_len=64, prefill_chunk=4),
                    stop_ids=[])
    engine.generate([GenerationRequest(i, r, max_new_tokens=5) for i, r in enumerate(ROWS)])
    stats = engine.stats()
    assert stats["prefill_tokens_computed"] == sum(map(len, ROWS))
    assert stats["generated_tokens"] == 15
    assert stats["steps"] >= 5 and stats["active_slots"] == stats["waiting"] == 0


def test_holds_slot_while_admitted_and_running_only(tiny_llama):
    _, model = tiny_llama
    engine = Engine(model, EngineSettings(n_slots=1, max_seq_len=64), stop_ids=[])
    engine.submit(GenerationRequest("first", ROWS[0], max_new_tokens=3))
    engine.submit(GenerationRequest("second", ROWS[1], max_new_tokens=3))
    assert not engine.holds_slot("first")  # nothing admitted before a step
    engine.step()
    assert engine.holds_slot("first") and not engine.holds_slot("second")  # one slot: it waits
    run(engine)
    assert not engine.holds_slot("first") and not engine.holds_slot("second")


def test_prefill_beside_decoding_rows_keeps_to_the_step_token_budget(tiny_llama, monkeypatch):
    hf, model = tiny_llama
    long_prompt = uneven_prompts(seed=3, lengths=(40,))[0]
    chunks: list[tuple[str, int, int]] = []  # (who, decoding rows, chunk length)
    seen = chunks  # the spy's own argument is called `chunks` too
    real_prefill = scheduler_module.prefill_chunk

    current: dict = {}  # the engine under test, for the spies

    def prefill(model, kv, *, slot, token_ids, start, want_logits):
        decoding = sum(not r.prefilling for r in current["engine"]._running.values())
        chunks.append((slot, decoding, len(token_ids)))
        return real_prefill(model, kv, slot=slot, token_ids=token_ids, start=start,
                            want_logits=want_logits)

    def mixed(model, kv, *, slots, chunks: list, **rest):
        for c in chunks:
            seen.append((c.slot, len(slots), len(c.token_ids)))
        return real_mixed(model, kv, slots=slots, chunks=chunks, **rest)

    real_mixed = scheduler_module.mixed_step
    monkeypatch.setattr(scheduler_module, "prefill_chunk", prefill)
    monkeypatch.setattr(scheduler_module, "mixed_step", mixed)

    def long_prompt_beside_three_rows(settings: EngineSettings) -> list[int]:
        """Chunk lengths of a 40-token prompt that arrives while three rows decode."""
        engine = current["engine"] = Engine(model, settings, stop_ids=[])
        for i, row in enumerate(ROWS):
            engine.submit(GenerationRequest(f"short{i}", row, max_new_tokens=30))
        for _ in range(4):  # the three short prompts are in and decoding
            engine.step()
        chunks.clear()
        engine.submit(GenerationRequest("long", long_prompt, max_new_tokens=4))
        tokens: dict = {}
        for step in run(engine):
            for e in step:
                if e.token_id is not None:
                    tokens.setdefault(e.request_id, []).append(e.token_id)
        long_chunks = [(rows, n) for slot, rows, n in chunks if slot == 3]
        assert all(rows == 3 for rows, _ in long_chunks)
        assert tokens["long"] == hf_greedy(hf, long_prompt, 4)  # chunking changes no number
        return [n for _, n in long_chunks]

    # 3 rows decode: 13 - 3 = 10 prompt tokens per step, never the whole 32-token chunk
    assert long_prompt_beside_three_rows(EngineSettings(
        n_slots=4, max_seq_len=96, prefill_chunk=32, step_token_budget=13,
        prefill_per_row=100)) == [10] * 4
    # a large budget: at most prefill_per_row (3) prompt tokens per decoding row
    assert long_prompt_beside_three_rows(EngineSettings(
        n_slots=4, max_seq_len=96, prefill_chunk=32, step_token_budget=96,
        prefill_per_row=3)) == [9, 9, 9, 9, 4]
    engine = current["engine"] = Engine(model, EngineSettings(n_slots=4, max_seq_len=96,
                                                              prefill_chunk=32), stop_ids=[])
    # alone, a prompt goes in whole chunks: nobody waits for it
    chunks.clear()
    engine.generate([GenerationRequest("alone", long_prompt, max_new_tokens=2)])
    assert [n for _, _, n in chunks] == [32, 8]
    # a budget smaller than the decoding rows still lets a prompt advance
    assert EngineSettings(step_token_budget=1).step_token_budget == 1
    engine = current["engine"] = Engine(model, EngineSettings(n_slots=4, max_seq_len=96,
                                                              step_token_budget=2), stop_ids=[])
    chunks.clear()
    for i, row in enumerate(ROWS):
        engine.submit(GenerationRequest(f"s{i}", row, max_new_tokens=30))
    for _ in range(4):
        engine.step()
    engine.submit(GenerationRequest("long", long_prompt, max_new_tokens=1))
    run(engine)
    assert [n for slot, _, n in chunks if slot == 3] == [scheduler_module.MIN_PREFILL_TOKENS] * 5
