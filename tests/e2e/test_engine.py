"""The engine behind `pixel` and `pixel_stream`: streaming, safety first, cancellation, load.

Against the real tritonserver of the e2e session (the engine is the default LM runtime).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipeline_lib.checkpoints import ensure_demo_checkpoint
from pipeline_lib.config.compose import compose_config
from pipeline_lib.serving.prompt import PromptEncoder, PromptSettings
from tests.e2e.engine_calls import Stream, engine_responses, metric, stream_once, unary

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CALM = "Work has been piling up and I keep worrying I'll disappoint my team."
CRISIS = "I have decided to end my life tonight, I have the pills ready."


@pytest.fixture(scope="module")
def hf_reference(e2e_overrides):
    """Greedy Hugging Face `generate` on the prompt the tokenizer model builds."""
    cfg = compose_config(e2e_overrides)
    checkpoint = ensure_demo_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoder = PromptEncoder(tokenizer,
                            PromptSettings.from_dict(OmegaConf.to_container(cfg.tokenizer)))
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()

    def generate(text: str, max_new_tokens: int, context_type: str = "general_support") -> str:
        prompt = encoder.prompt_ids(text, context_type)
        with torch.inference_mode():
            out = model.generate(torch.tensor([prompt]), max_new_tokens=max_new_tokens,
                                 do_sample=False)[0, len(prompt):]
        return tokenizer.decode(out, skip_special_tokens=True).strip()

    return generate


def joined(events: list[dict]) -> str:
    return "".join(e.get("text_delta", "") for e in events)


def assert_matches_hf(final: dict, reference: str) -> None:
    """A reply that stopped by itself is HF's reply; one cut by the limit is its prefix, ending
    where a sentence (or, failing that, a word) ends."""
    text = final["response_text"]
    if final["finish_reason"] == "stop":
        assert text == reference
    else:
        assert final["finish_reason"] == "length"
        assert reference.startswith(text) and text


def test_stream_opens_with_the_assessment_and_its_deltas_make_the_final_reply(triton_server):
    events = stream_once(triton_server.grpc_url, CALM, max_new_tokens=40)
    assert events[0]["stream_event"] == "assessment"
    assert events[0]["crisis_flag"] is False and events[0]["text_delta"] == ""
    assert [e["stream_event"] for e in events[1:-1]] == ["delta"] * (len(events) - 2)
    final = events[-1]
    assert len(events) > 3  # streamed in pieces, not in one block
    assert joined(events) == final["response_text"] and final["response_text"]
    assert final["reply_persona"] == "general_support" and final["crisis_reply_mode"] == "none"
    assert 0 <= final["overall_eq"] <= 1 and final["inference_time_ms"] > 0


def test_greedy_reply_equals_hf_generate_alone(triton_server, hf_reference):
    final = stream_once(triton_server.grpc_url, CALM, max_new_tokens=48)[-1]
    assert_matches_hf(final, hf_reference(CALM, 48))


def test_greedy_replies_equal_hf_generate_while_others_join_and_leave(triton_server, hf_reference):
    # Different lengths and staggered starts: rows join and leave the batch mid-generation.
    texts = [("The new flat still feels strange since the move.", 12),
             ("My sister and I argue every time we talk.", 56),
             ("How do I explain to my boss that I'm burned out?", 30),
             ("Sleep has been terrible for weeks.", 44)]

    def run(i: int) -> dict:
        time.sleep(0.7 * i)
        text, n = texts[i]
        return stream_once(triton_server.grpc_url, text, max_new_tokens=n,
                           session_id=f"join-{i}")[-1]

    with ThreadPoolExecutor(len(texts)) as pool:
        finals = list(pool.map(run, range(len(texts))))
    for (text, n), final in zip(texts, finals, strict=True):
        assert_matches_hf(final, hf_reference(text, n))


def test_unary_pixel_is_served_by_the_engine_with_the_same_reply(triton_server):
    streamed = stream_once(triton_server.grpc_url, CALM, max_new_tokens=32)[-1]
    answered = unary(triton_server.grpc_url, CALM, max_new_tokens=32)
    assert answered["response_text"] == streamed["response_text"]
    assert answered["eq_scores"] == pytest.approx(streamed["eq_scores"])


def test_a_caller_that_does_not_stream_gets_one_engine_response_with_every_token(triton_server):
    prompt = AutoTokenizer.from_pretrained(ensure_demo_checkpoint())(
        "Moving house next week and I have not packed anything.")["input_ids"]
    settings = {"max_new_tokens": ("INT32", np.int32(24))}
    streamed = engine_responses(triton_server.grpc_url, prompt, **settings)
    once = engine_responses(triton_server.grpc_url, prompt, stream=("BOOL", np.bool_(False)),
                            **settings)
    assert len(streamed) > 1 and len(once) == 1  # unary `pixel` asks for this: no per-token trips
    assert once[0]["token_ids"] == [t for r in streamed for t in r["token_ids"]]
    assert once[0]["text_delta"] == "".join(r["text_delta"] for r in streamed)
    assert once[0]["finish_reason"] == streamed[-1]["finish_reason"] != ""


def test_crisis_message_gets_the_pointer_first_and_the_crisis_persona(triton_server):
    events = stream_once(triton_server.grpc_url, CRISIS, context_type="psychoeducation",
                         max_new_tokens=48)
    first, final = events[0], events[-1]
    assert first["stream_event"] == "assessment" and first["crisis_flag"] is True
    assert "crisis line" in first["text_delta"]  # the pointer is the first text streamed
    assert final["response_text"].startswith(first["text_delta"])
    assert final["reply_persona"] == "crisis_support"  # whatever context type was asked
    assert final["crisis_reply_mode"] == "configured_then_generated"
    assert final["crisis_flag"] is True and final["persona_mode"] == "crisis"
    assert joined(events) == final["response_text"]


def test_a_cancelled_stream_frees_its_slot_and_the_next_request_is_served(triton_server):
    stream = Stream(triton_server.grpc_url)
    stream.send("Tell me a long story about a lighthouse keeper.", max_new_tokens=200)
    seen = [stream.next() for _ in range(4)]  # the assessment and some deltas
    assert seen[0]["stream_event"] == "assessment"
    stream.cancel()
    deadline = time.monotonic() + 60
    while metric(triton_server.metrics_url, "pixel_engine_active_slots") > 0:
        assert time.monotonic() < deadline, "the cancelled request still holds its slot"
        time.sleep(0.2)
    cancelled = metric(triton_server.metrics_url, "pixel_engine_requests_total")
    assert cancelled >= 1
    assert unary(triton_server.grpc_url, CALM, max_new_tokens=8)["response_text"]


def test_32_concurrent_streams_of_different_lengths_all_complete_once(triton_server):
    finals: dict[int, list[dict]] = {}
    lock = threading.Lock()

    def run(i: int) -> None:
        events = stream_once(triton_server.grpc_url, f"Message {i}: I feel a bit low today.",
                             max_new_tokens=4 + (i % 8) * 3, session_id=f"many-{i}")
        with lock:
            finals[i] = events

    before_steps = metric(triton_server.metrics_url, "pixel_engine_decode_steps_total")
    before_tokens = metric(triton_server.metrics_url, "pixel_engine_generated_tokens_total")
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(run, range(32)))
    assert sorted(finals) == list(range(32))
    for events in finals.values():
        assert [e["stream_event"] for e in events].count("final") == 1
        assert joined(events) == events[-1]["response_text"]
    steps = metric(triton_server.metrics_url, "pixel_engine_decode_steps_total") - before_steps
    tokens = metric(triton_server.metrics_url, "pixel_engine_generated_tokens_total") - before_tokens
    assert tokens / steps > 2, "rows were not batched per decode step"


def test_prefix_cache_saves_the_system_prompt_for_repeat_context_types(triton_server):
    before = metric(triton_server.metrics_url, "pixel_engine_prefill_tokens_saved_total")
    for i in range(2):
        unary(triton_server.grpc_url, f"Quick question number {i}.", max_new_tokens=4,
              context_type="therapy_session")
    # The engine publishes its metrics every 0.5 s: the second call's hit shows up within that.
    deadline = time.monotonic() + 30
    while (metric(triton_server.metrics_url, "pixel_engine_prefill_tokens_saved_total") <= before
           and time.monotonic() < deadline):
        time.sleep(0.2)
    assert metric(triton_server.metrics_url, "pixel_engine_prefill_tokens_saved_total") > before
