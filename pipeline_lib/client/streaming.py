"""PixelClient.stream: a reply as it is generated, over gRPC bidirectional streaming.

    async with client.stream("I can't sleep", "s-1") as events:
        async for event in events:
            if isinstance(event, StreamDelta):
                print(event.text, end="")        # the first one is the crisis assessment
            else:
                result = event                   # the PixelResult, always last

Rules, and why:
- Retries (the client's RetryPolicy) happen only until the first event arrives: after that the
  caller has shown text to someone, and a second attempt could show a different reply.
- The deadline covers the whole stream and travels to the server (Triton's request timeout).
- Closing early (`aclose()`, leaving `async with`, `break` out of `async for`, cancelling the task)
  cancels the gRPC call, so the server frees the request's slot at its next step.
- Each stream is recorded exactly once through the client's recorder: on the final response, or
  when it ends without one (error kind "cancelled", or the error's kind), with the text so far.
- A stream goes to the A/B variant's model name + "_stream" and never through the result cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline_lib.client.ab import Variant
from pipeline_lib.client.errors import ClientError, DeadlineExceededError, classify
from pipeline_lib.client.metrics import context_label
from pipeline_lib.client.recording import record_outcome
from pipeline_lib.client.result import ModelOutputs, PixelResult
from pipeline_lib.client.retry import call_with_retries
from pipeline_lib.client.stream_events import StreamDelta, decode_event
from pipeline_lib.client.transport import StreamCall

if TYPE_CHECKING:
    from pipeline_lib.client.client import PixelClient

log = logging.getLogger(__name__)

STREAM_SUFFIX = "_stream"
CANCELLED = "cancelled"  # the recorded error kind of a stream closed by its caller
StreamEvent = StreamDelta | PixelResult
# Recordings still running after their stream was cancelled: asyncio keeps only weak references
# to tasks, and a recording must not be collected half-way.
_PENDING_RECORDS: set[asyncio.Task] = set()


@dataclass(frozen=True)
class _Spec:
    request_id: str
    variant: Variant  # model_name already the streaming model's
    text: str
    session_id: str
    context_type: str
    inputs: Mapping[str, np.ndarray]
    timeout_s: float


class PixelStream:
    """Async iterator of StreamDelta, then the PixelResult (last). Nothing is sent before the
    first iteration. Use `async with` (or `aclose()`) to close it early; `break` out of
    `async for` also closes it, as soon as the stream object is dropped."""

    def __init__(self, client: PixelClient, *, text: str, session_id: str, context_type: str,
                 inputs: Mapping[str, np.ndarray], timeout_s: float):
        variant = client.router.assign(session_id)
        spec = _Spec(
            request_id=uuid.uuid4().hex,
            variant=replace(variant, model_name=variant.model_name + STREAM_SUFFIX),
            text=text, session_id=session_id, context_type=context_type, inputs=inputs,
            timeout_s=timeout_s,
        )
        self.request_id = spec.request_id
        self.variant = variant.name
        self.model_name = spec.variant.model_name
        # The generator must not reference this object: dropping the stream then drops the
        # generator at once, and asyncio closes it (cancel + record) without waiting for the GC.
        self._events = _events(client, spec)

    def __aiter__(self) -> PixelStream:
        return self

    async def __anext__(self) -> StreamEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()

    async def __aenter__(self) -> PixelStream:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


async def _events(client: PixelClient, spec: _Spec):
    metrics, label = client.metrics, spec.variant.name
    context = context_label(spec.context_type)
    transport = client.stream_transport
    url = transport.url
    started = time.perf_counter()
    end = time.monotonic() + spec.timeout_s
    calls: list[StreamCall] = []  # every call opened, so that `finally` can cancel the live one
    pieces: list[str] = []
    assessment: StreamDelta | None = None
    recording: asyncio.Future | None = None  # set once: the one recording of this stream

    async def attempt(remaining_s: float) -> tuple[StreamCall, Any]:
        metrics.attempts.labels(label).inc()
        call = transport.open_stream(
            model_name=spec.variant.model_name, model_version=spec.variant.model_version,
            inputs=spec.inputs, request_id=spec.request_id, timeout_s=remaining_s,
        )
        calls.append(call)
        try:
            return call, decode_event(await call.receive(), url=url)
        except BaseException:
            call.cancel()  # a failed attempt leaves nothing running on the server
            raise

    def on_retry(error: ClientError, attempt_number: int, delay_s: float) -> None:
        metrics.retries.labels(label, error.kind).inc()

    def ended_early(kind: str) -> asyncio.Future:
        outcome = CANCELLED if kind == CANCELLED else "error"
        metrics.requests.labels(label, context, outcome).inc()
        if outcome == "error":
            metrics.errors.labels(label, kind).inc()
        return _start_recording(client, spec, (time.perf_counter() - started) * 1000.0, None,
                                kind, "".join(pieces), assessment)

    try:
        (call, event), attempts = await call_with_retries(
            attempt, policy=client.settings.retry, deadline_s=spec.timeout_s, url=url,
            on_retry=on_retry,
        )
        metrics.first_delta.labels(label).observe(time.perf_counter() - started)
        while isinstance(event, StreamDelta):
            if assessment is None:
                assessment = event
            pieces.append(event.text)
            yield event
            event = await _receive(call, end=end, url=url, deadline_s=spec.timeout_s,
                                   attempts=attempts)
        call.done_writing()
        result = _result(spec, event, started, attempts, "".join(pieces))
        metrics.requests.labels(label, context, "ok").inc()
        metrics.latency.labels(label, "miss").observe(result.latency_ms / 1000.0)
        metrics.server_time.labels(label).observe(result.server_time_ms / 1000.0)
        if result.crisis_flag:
            metrics.crisis_flags.labels(label, context).inc()
        # Recorded before the result is handed over: a caller that stops here changes nothing.
        recording = _start_recording(client, spec, result.latency_ms, result, None, None, None)
        await asyncio.shield(recording)
        yield result
    except ClientError as error:
        recording = recording or ended_early(error.kind)
        raise
    except (asyncio.CancelledError, GeneratorExit):
        recording = recording or ended_early(CANCELLED)
        raise
    except Exception as exc:  # noqa: BLE001 -- a client-side bug: classified, recorded, raised
        error = classify(exc, url=url)
        recording = recording or ended_early(error.kind)
        raise error from exc
    finally:
        for opened in calls:
            opened.cancel()  # a no-op for a call that ended; stops the server's work otherwise
        # Shielded: a second cancel while we wait must not lose the recording.
        await asyncio.shield(recording or ended_early(CANCELLED))


async def _receive(call: StreamCall, *, end: float, url: str, deadline_s: float,
                   attempts: int) -> Any:
    """The next event, within what is left of the deadline."""
    remaining = end - time.monotonic()
    try:
        if remaining <= 0:
            raise TimeoutError
        async with asyncio.timeout(remaining):
            tensors = await call.receive()
    except TimeoutError:
        raise DeadlineExceededError(url, deadline_s, attempts) from None
    except (ClientError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 -- grpc's own errors, classified just below
        error = classify(exc, url=url)
        if isinstance(error, DeadlineExceededError):  # the gRPC deadline of the stream
            error = DeadlineExceededError(url, deadline_s, attempts)
        raise error from exc
    return decode_event(tensors, url=url)


def _result(spec: _Spec, outputs: ModelOutputs, started: float, attempts: int,
            streamed: str) -> PixelResult:
    if streamed != outputs.response_text:
        # The server promises they agree; the final response_text is the one kept.
        log.warning("stream %s: its deltas (%d chars) differ from the final response_text "
                    "(%d chars)", spec.request_id, len(streamed), len(outputs.response_text))
    return PixelResult.from_outputs(
        outputs, request_id=spec.request_id, variant=spec.variant.name,
        model_name=spec.variant.model_name, model_version=spec.variant.model_version,
        context_type=spec.context_type, latency_ms=(time.perf_counter() - started) * 1000.0,
        cache_hit=False, attempts=attempts,
    )


def _start_recording(client: PixelClient, spec: _Spec, latency_ms: float,
                     result: PixelResult | None, error_kind: str | None,
                     partial_text: str | None, assessment: StreamDelta | None) -> asyncio.Future:
    """Record the outcome in a task of its own, so that it survives a cancel of the caller."""
    if client.recorder is None:
        done = asyncio.get_running_loop().create_future()
        done.set_result(False)
        return done
    task = asyncio.create_task(record_outcome(
        client.recorder, request_id=spec.request_id, session_id=spec.session_id,
        variant=spec.variant, context_type=spec.context_type, user_text=spec.text,
        latency_ms=latency_ms, result=result, error_kind=error_kind,
        partial_text=partial_text, assessment=assessment,
    ))
    _PENDING_RECORDS.add(task)
    task.add_done_callback(_PENDING_RECORDS.discard)
    return task
