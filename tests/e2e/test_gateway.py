"""The gateway end to end: the real `openai` SDK (sync, async, streaming) -> pixel gateway ->
the session's real tritonserver; every call recorded once in the gateway's SQLite store."""

import asyncio
import uuid

import openai
import pytest

from pipeline_lib.client import EQ_DIMENSIONS
from pipeline_lib.composition import load_app_config
from pipeline_lib.store.models import InferenceMetric, InferenceRequest, InferenceResult
from tests.e2e.store_rows import rows
from tests.unit.gateway.running import running_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CRISIS = "I don't want to live anymore and I have a plan to end it."
POINTER = load_app_config().gateway.crisis_pointer


@pytest.fixture(scope="module")
def gateway(triton_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gateway")
    with running_gateway(folder, triton_grpc_url=triton_server.grpc_url,
                         overrides=["client.timeout_s=240"]) as server:
        yield server, f"sqlite+aiosqlite:///{folder / 'pixel.db'}"


async def recorded(url: str, request_id: str, *, rounds: int = 200) -> list:
    """The request's rows once the recorder's writer got to them (it drains every 50 ms)."""
    for _ in range(rounds):
        found = await rows(url, InferenceMetric, request_id)
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_sync_sdk_gets_a_reply_with_scores_in_the_extension_field(gateway):
    server, store = gateway
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    completion = client.chat.completions.create(
        model="pixel", messages=[{"role": "user", "content": "I can't sleep before exams."}],
        max_tokens=8, user=f"e2e-{uuid.uuid4().hex}")
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content.strip()
    assert completion.choices[0].finish_reason == "length"  # max_tokens reached the engine
    pixel = completion.pixel
    assert set(pixel["eq_scores"]) == set(EQ_DIMENSIONS)
    assert 0.0 <= pixel["overall_eq"] <= 1.0 and 0.0 <= pixel["safety_score"] <= 1.0
    assert pixel["crisis_flag"] is False and pixel["context_type"] == "general_support"
    (metric,) = await recorded(store, pixel["request_id"])
    (result,) = await rows(store, InferenceResult, pixel["request_id"])
    assert metric["error_kind"] is None and result["overall_eq"] == pytest.approx(
        pixel["overall_eq"])


async def test_async_streaming_crisis_pointer_first_scores_last_usage_and_done(gateway):
    server, store = gateway
    client = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="unused")
    stream = await client.chat.completions.create(
        model="pixel-crisis-support", messages=[{"role": "user", "content": CRISIS}],
        stream=True, stream_options={"include_usage": True}, max_completion_tokens=16)
    chunks = [chunk async for chunk in stream]
    first, final = chunks[0], next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert first.pixel["event"] == "assessment" and first.pixel["crisis_flag"] is True
    assert first.pixel["crisis_pointer"] == POINTER
    assert POINTER in first.choices[0].delta.content  # the pointer goes out before the reply
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert final.pixel["crisis_flag"] is True and final.pixel["persona_mode"] == "crisis"
    assert chunks[-1].choices == [] and 0 < chunks[-1].usage.completion_tokens <= 16
    assert len({c.id for c in chunks}) == 1
    (metric,) = await recorded(store, final.pixel["request_id"])
    (request,) = await rows(store, InferenceRequest, final.pixel["request_id"])
    assert metric["error_kind"] is None and request["context_type"] == "crisis_support"
    assert CRISIS not in str(dict(request)) and text


async def test_a_stream_the_client_abandons_is_cancelled_and_recorded_once(gateway):
    server, store = gateway
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    session = f"e2e-abandon-{uuid.uuid4().hex}"
    stream = client.chat.completions.create(
        model="pixel", messages=[{"role": "user", "content": "Tell me about sleep hygiene."}],
        stream=True, max_tokens=48, extra_headers={"X-Pixel-Conversation-Id": session})
    first = next(iter(stream))
    assert first.pixel["event"] == "assessment"
    stream.close()  # the caller goes away before the reply is complete
    request_id = first.id.removeprefix("chatcmpl-")
    (metric,) = await recorded(store, request_id)
    assert metric["error_kind"] == "cancelled"
    await asyncio.sleep(0.5)  # a second record would have come by now; there is none
    assert len(await rows(store, InferenceMetric, request_id)) == 1


async def test_seeded_sampling_reaches_the_engine(gateway):
    server, _ = gateway
    client = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="unused")
    ask = dict(model="pixel-psychoeducation", max_tokens=6, temperature=0.9, top_p=0.9, seed=7,
               messages=[{"role": "user", "content": "What is burnout?"}])
    one, two = [await client.chat.completions.create(**ask) for _ in range(2)]
    assert one.choices[0].message.content == two.choices[0].message.content
    assert one.pixel["request_id"] != two.pixel["request_id"]
