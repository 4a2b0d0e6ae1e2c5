"""PixelClient.stream over a scripted stream transport (the gRPC layer is tested on its own in
test_stream_transport.py): event order, retries only before the first event, cancellation, and
exactly one recording whatever way the stream ends."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from pipeline_lib.client import ClientSettings, PixelClient, PixelResult, StreamDelta
from pipeline_lib.client.errors import (
    DeadlineExceededError,
    InvalidRequestError,
    ServerOverloadedError,
    ServerUnavailableError,
)
from pipeline_lib.client.retry import RetryPolicy
from pipeline_lib.store.records import OutcomeRecord

SECRET = "my neighbour's name is Zebulon and I want to disappear"
POINTER = "If you are in danger, call 988 now. "
HANG = object()  # a script step: wait until cancelled


def s(value: str) -> np.ndarray:
    return np.array([[value.encode()]], dtype=np.object_)


def assessment(text: str = "", flagged: bool = False) -> dict:
    return {"stream_event": s("assessment"), "text_delta": s(text),
            "crisis_flag": np.array([[flagged]]), "persona_mode": s("calm"),
            "reply_persona": s("crisis_support" if flagged else "general_support")}


def delta(text: str) -> dict:
    return {"stream_event": s("delta"), "text_delta": s(text)}


def final(text: str, flagged: bool = False) -> dict:
    f32 = lambda x: np.array([[x]], dtype=np.float32)  # noqa: E731
    return {"stream_event": s("final"), "text_delta": s(""), "response_text": s(text),
            "eq_scores": np.array([[0.1, 0.2, 0.3, 0.4, 0.5]], dtype=np.float32),
            "overall_eq": f32(0.3), "safety_score": f32(0.9), "bias_score": f32(0.01),
            "persona_mode": s("calm"), "inference_time_ms": f32(420.0),
            "crisis_flag": np.array([[flagged]]),
            "reply_persona": s("crisis_support" if flagged else "general_support"),
            "crisis_reply_mode": s("configured_then_generated" if flagged else "none"),
            "finish_reason": s("stop")}


class FakeCall:
    """Implements transport.StreamCall: hands out the scripted responses in turn."""

    def __init__(self, script: list):
        self.script = list(script)
        self.cancelled = self.writes_done = False

    async def receive(self) -> dict:
        step = self.script.pop(0)
        if step is HANG:
            await asyncio.Event().wait()
        if isinstance(step, Exception):
            raise step
        return step

    def done_writing(self) -> None:
        self.writes_done = True

    def cancel(self) -> None:
        self.cancelled = True


class FakeTransport:
    url = "fake:8001"

    def __init__(self, *scripts: list):
        self.scripts = list(scripts)
        self.calls: list[FakeCall] = []
        self.requests: list[dict] = []

    def open_stream(self, **request) -> FakeCall:
        self.requests.append(request)
        self.calls.append(FakeCall(self.scripts.pop(0)))
        return self.calls[-1]

    async def close(self) -> None:
        pass


class Recorder:
    def __init__(self):
        self.records: list[OutcomeRecord] = []

    async def record(self, record: OutcomeRecord) -> None:
        self.records.append(record)


def client_with(*scripts: list) -> tuple[PixelClient, FakeTransport, Recorder]:
    settings = ClientSettings(timeout_s=5.0, retry=RetryPolicy(
        max_attempts=5, initial_backoff_s=0.001, max_backoff_s=0.002))
    recorder = Recorder()
    client = PixelClient(settings, cache=None, recorder=recorder)
    client._transport = transport = FakeTransport(*scripts)
    return client, transport, recorder


def metric(client: PixelClient, line_start: str) -> float:
    for line in client.metrics.exposition().decode().splitlines():
        if line.startswith(line_start):
            return float(line.split()[-1])
    return 0.0


async def test_events_come_in_order_and_the_result_is_recorded_once():
    reply = "I hear you. You are not alone."
    client, transport, recorder = client_with(
        [assessment(POINTER, flagged=True), delta("I hear you. "), delta("You are not alone."),
         final(POINTER + reply, flagged=True)])
    events = [e async for e in client.stream(SECRET, "s-1", "general_support", seed=7,
                                             max_new_tokens=64)]
    first, *deltas, result = events
    assert first.is_assessment and first.crisis_flag is True and first.text == POINTER
    assert first.reply_persona == "crisis_support" and first.persona_mode == "calm"
    assert [d.text for d in deltas] == ["I hear you. ", "You are not alone."]
    assert all(not d.is_assessment and d.crisis_flag is None for d in deltas)
    assert isinstance(result, PixelResult) and result.attempts == 1
    assert "".join(e.text for e in events[:-1]) == result.response_text
    assert (result.reply_persona, result.crisis_reply_mode, result.finish_reason) == (
        "crisis_support", "configured_then_generated", "stop")
    assert result.model_name == "pixel_stream" and result.variant == "control"
    (request,) = transport.requests
    assert request["model_name"] == "pixel_stream" and request["request_id"] == result.request_id
    assert request["inputs"]["seed"].dtype == np.int64 and request["inputs"]["seed"][0, 0] == 7
    assert request["inputs"]["max_new_tokens"].dtype == np.int32
    assert "temperature" not in request["inputs"]  # unset options are left to the server
    assert transport.calls[0].writes_done
    (record,) = recorder.records
    assert record.request_id == result.request_id and record.error_kind is None
    assert record.reply_persona == "crisis_support" and record.finish_reason == "stop"
    assert record.crisis_reply_mode == "configured_then_generated"
    assert record.model_name == "pixel_stream" and record.user_text == SECRET
    assert metric(client, 'pixel_client_requests_total{context_type="general_support",'
                          'outcome="ok"') == 1.0
    assert metric(client, "pixel_client_stream_first_delta_seconds_count") == 1.0
    assert "Zebulon" not in client.metrics.exposition().decode()


async def test_retried_before_the_first_event_only():
    client, transport, recorder = client_with(
        [ServerUnavailableError("fake", "connection refused")],
        [ServerOverloadedError("fake", "overloaded: 9 waiting")],
        [assessment(), delta("Hel"), ServerOverloadedError("fake", "overloaded: later")],
        [assessment(), final("Hello")],  # would succeed: must not be tried after "Hel"
    )
    stream = client.stream("hello", "s-2")
    seen = []
    with pytest.raises(ServerOverloadedError):
        async for event in stream:
            seen.append(event.text)
    assert seen == ["", "Hel"] and len(transport.calls) == 3  # no retry once "Hel" was out
    assert all(call.cancelled for call in transport.calls)
    (record,) = recorder.records
    assert record.error_kind == "overloaded" and record.response_text == "Hel"
    assert record.crisis_flag is False and record.reply_persona == "general_support"
    assert metric(client, 'pixel_client_retries_total{kind="unavailable"') == 1.0
    assert metric(client, 'pixel_client_retries_total{kind="overloaded"') == 1.0


async def test_a_refused_input_is_not_retried_and_is_recorded():
    client, transport, recorder = client_with(
        [InvalidRequestError("text", "must not be empty")], [assessment()])
    with pytest.raises(InvalidRequestError, match="text: must not be empty"):
        async for _ in client.stream(" ", "s-3"):
            pass
    assert len(transport.calls) == 1 and transport.calls[0].cancelled
    assert [r.error_kind for r in recorder.records] == ["invalid_input"]
    assert recorder.records[0].response_text is None


async def test_aclose_mid_stream_cancels_the_call_and_records_cancelled():
    client, transport, recorder = client_with(
        [assessment(POINTER, flagged=True), delta("Stay "), delta("with me."), final("x")])
    async with client.stream(SECRET, "s-4") as stream:
        async for event in stream:
            if event.text == "Stay ":
                break
    assert transport.calls[0].cancelled and not transport.calls[0].writes_done
    (record,) = recorder.records
    assert record.error_kind == "cancelled" and record.response_text == POINTER + "Stay "
    assert record.crisis_flag is True  # the assessment still raises the crisis alert
    assert record.finish_reason is None and record.eq_scores is None
    assert metric(client, 'pixel_client_requests_total{context_type="general_support",'
                          'outcome="cancelled"') == 1.0
    assert metric(client, "pixel_client_errors_total{") == 0.0  # a cancel is not an error


async def test_break_out_of_async_for_cancels_once_the_stream_is_dropped():
    client, transport, recorder = client_with([assessment(), delta("a"), delta("b"), final("ab")])
    async for _ in client.stream("hi", "s-5"):
        break
    for _ in range(100):  # asyncio closes a dropped generator in a task of its own
        if recorder.records:
            break
        await asyncio.sleep(0)
    assert transport.calls[0].cancelled
    assert [r.error_kind for r in recorder.records] == ["cancelled"]


async def test_cancelling_the_consumer_task_cancels_the_call():
    client, transport, recorder = client_with([assessment(), delta("Let's "), HANG])
    got_delta = asyncio.Event()

    async def consume():
        async for event in client.stream("hi", "s-6"):
            if event.text:
                got_delta.set()

    task = asyncio.create_task(consume())
    await got_delta.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert transport.calls[0].cancelled
    (record,) = recorder.records
    assert record.error_kind == "cancelled" and record.response_text == "Let's "


async def test_the_deadline_covers_the_whole_stream():
    client, transport, recorder = client_with([assessment(), delta("slow"), HANG])
    with pytest.raises(DeadlineExceededError):
        async for _ in client.stream("hi", "s-7", timeout=0.2):
            pass
    assert transport.calls[0].cancelled
    assert transport.requests[0]["timeout_s"] <= 0.2  # what the server is told
    assert [r.error_kind for r in recorder.records] == ["timeout"]


async def test_stopping_after_the_result_is_still_one_success():
    client, transport, recorder = client_with([assessment(), final("")])
    stream = client.stream("hi", "s-8")
    events = [await stream.__anext__(), await stream.__anext__()]
    assert isinstance(events[1], PixelResult) and events[1].response_text == ""
    await stream.aclose()
    assert [r.error_kind for r in recorder.records] == [None]


async def test_a_second_final_is_never_read_and_nothing_is_recorded_twice():
    client, transport, recorder = client_with([assessment(), final("ok"), final("again")])
    events = [e async for e in client.stream("hi", "s-9")]
    assert isinstance(events[-1], PixelResult) and len(events) == 2
    assert len(recorder.records) == 1 and len(transport.calls[0].script) == 1


async def test_stream_refuses_bad_types_before_sending():
    client, transport, _ = client_with()
    with pytest.raises(InvalidRequestError, match="temperature: must be a number"):
        client.stream("hi", "s", temperature="hot")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="session_id"):
        client.stream("hi", "")
    assert transport.requests == []


async def test_streams_use_grpc_even_when_the_client_speaks_http():
    settings = ClientSettings(protocol="http", grpc_url="127.0.0.1:18001")
    async with PixelClient(settings, cache=None) as client:
        assert client.stream_transport.url == "127.0.0.1:18001"
        assert client.transport.url == settings.http_url


def test_a_delta_repr_shows_no_text():
    assert StreamDelta("secret").event == "delta" and "secret" not in repr(StreamDelta("secret"))
