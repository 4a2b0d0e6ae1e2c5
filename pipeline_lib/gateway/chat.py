"""POST /v1/chat/completions: the door's checks in order, then one PixelClient call.

Order: API key (401) -> rate limit (429) -> body size (413) -> body fields (400) -> model (404)
-> PixelClient.infer (one chat.completion) or .stream (SSE chunks, `data: [DONE]` last). The
client records every call it makes exactly once, through the composition root's recorder:
finished, failed, or a stream the caller abandoned (the gRPC call is cancelled, the server frees
the slot, the record says `cancelled`). Refusals at the door reach no model and are counted in
`pixel_gateway_refusals_total`, not recorded as outcomes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from pipeline_lib.client import ClientError, PixelClient, PixelResult
from pipeline_lib.gateway import replies
from pipeline_lib.gateway.catalog import context_type_of
from pipeline_lib.gateway.errors import GatewayError, from_client_error, invalid
from pipeline_lib.gateway.keys import KeyStore
from pipeline_lib.gateway.messages import Turns, split_messages
from pipeline_lib.gateway.metrics import GatewayMetrics, model_label
from pipeline_lib.gateway.ratelimit import RateLimiter
from pipeline_lib.gateway.schemas import ChatCompletionRequest, parse_request
from pipeline_lib.gateway.settings import GatewaySettings

_REFUSAL_REASON = {401: "auth", 429: "rate_limit", 413: "body_size", 404: "not_found"}


class ClosingStreamingResponse(StreamingResponse):
    """Closes its body iterator whatever happens, shielded: a stream the caller abandons is
    closed (and recorded) now, not whenever the garbage collector gets to it."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()


class ChatCompletions:
    def __init__(self, *, client: PixelClient, settings: GatewaySettings, keys: KeyStore,
                 limiter: RateLimiter, metrics: GatewayMetrics):
        self.client = client
        self.settings = settings
        self.keys = keys
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            chat, turns, session, param_names = await self._admit(request)
        except GatewayError as error:
            self.metrics.refusals.labels(_REFUSAL_REASON.get(error.status, "invalid")).inc()
            self.metrics.requests.labels("other", "false", str(error.status)).inc()
            return error.response()
        options: dict[str, Any] = {"max_new_tokens": chat.max_new_tokens,
                                   "temperature": chat.temperature, "top_p": chat.top_p,
                                   "seed": chat.seed}
        if turns.conversation:
            options["conversation"] = list(turns.conversation)
        call = _Call(self, chat, turns, session, param_names, options, started)
        return await (call.stream() if chat.stream else call.unary())

    async def _admit(self, request: Request) -> tuple[ChatCompletionRequest, Turns, str, dict]:
        entry = self.keys.authenticate(request.headers.get("authorization"))
        who = f"key:{entry.name}" if entry else f"addr:{request.client.host if request.client else '-'}"
        self.limiter.check(who, requests_per_minute=entry.requests_per_minute if entry else None)
        chat = parse_request(await self._body(request))
        context = context_type_of(chat.model)
        if context is None:
            raise GatewayError(404, f"model: {chat.model[:64]!r} is not served here; GET "
                                    "/v1/models lists the models", param="model",
                               code="model_not_found")
        turns = split_messages(chat.messages)
        header = self.settings.session_header
        session = request.headers.get(header)
        if session is not None and not 1 <= len(session) <= 128:
            raise invalid(header, "must be 1-128 characters")
        param_names = {
            "max_new_tokens": "max_completion_tokens" if chat.max_completion_tokens
            else "max_tokens",
            "session_id": header if session is not None else "user",
        }
        session = session or chat.user or f"gw-{uuid.uuid4().hex}"
        return chat, turns, session, param_names

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        too_large = GatewayError(413, f"body: larger than {limit} bytes", param="body",
                                 code="request_too_large")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


class _Call:
    """One admitted request, answered unary or streamed."""

    def __init__(self, door: ChatCompletions, chat: ChatCompletionRequest, turns: Turns,
                 session: str, param_names: dict, options: dict, started: float):
        self.door, self.chat, self.turns, self.session = door, chat, turns, session
        self.param_names, self.options, self.started = param_names, options, started
        self.context_type = context_type_of(chat.model)
        self.label = model_label(chat.model)
        self.pointer = door.settings.crisis_pointer
        self.headers = {door.settings.session_header: session}

    def _count(self, status: int, stream: bool, *, finished: bool = True) -> None:
        m = self.door.metrics
        m.requests.labels(self.label, str(stream).lower(), str(status)).inc()
        if finished:
            m.latency.labels(str(stream).lower()).observe(time.perf_counter() - self.started)

    def _failed(self, error: ClientError, stream: bool) -> Response:
        refusal = from_client_error(error, param_names=self.param_names)
        self._count(refusal.status, stream)
        response = refusal.response()
        response.headers.update(self.headers)
        return response

    async def unary(self) -> Response:
        metrics = self.door.metrics
        metrics.in_flight.inc()
        try:
            result = await self.door.client.infer(self.turns.text, self.session,
                                                  self.context_type, **self.options)
        except ClientError as error:
            return self._failed(error, False)
        finally:
            metrics.in_flight.dec()
        self._count(200, False)
        body = replies.completion(result, model=self.chat.model, crisis_pointer=self.pointer)
        return JSONResponse(body, headers=self.headers)

    async def stream(self) -> Response:
        stream = self.door.client.stream(self.turns.text, self.session, self.context_type,
                                         **self.options)
        try:
            # The first event before answering: an error until then keeps its HTTP status.
            first = await stream.__anext__()
        except ClientError as error:
            await stream.aclose()
            return self._failed(error, True)
        except BaseException:
            await stream.aclose()
            raise
        self.door.metrics.first_chunk.observe(time.perf_counter() - self.started)
        self._count(200, True, finished=False)
        return ClosingStreamingResponse(self._chunks(stream, first),
                                        media_type="text/event-stream",
                                        headers={**self.headers, "Cache-Control": "no-cache",
                                                 "X-Accel-Buffering": "no"})

    async def _chunks(self, stream, event):
        metrics = self.door.metrics
        writer = replies.ChunkWriter(request_id=stream.request_id, model=self.chat.model)
        how = "error"
        metrics.in_flight.inc()
        try:
            async for event in _after(event, stream):
                if isinstance(event, PixelResult):
                    delta = {} if writer.started else {"role": "assistant"}
                    yield writer.chunk(delta, finish=replies.finish_reason(event),
                                       pixel=replies.scores(event, crisis_pointer=self.pointer))
                    if self.chat.include_usage:
                        yield writer.chunk({}, usage=replies.usage(event), choices=False)
                    yield writer.done()
                    how = "done"
                elif not writer.started:  # the first event: the safety-first assessment
                    yield writer.chunk({"role": "assistant", "content": event.text},
                                       pixel=replies.assessment(event,
                                                                crisis_pointer=self.pointer))
                else:
                    yield writer.chunk({"content": event.text})
        except ClientError as error:
            # Headers are gone: the error goes as an SSE event, which the SDK raises as APIError.
            yield replies.sse(from_client_error(error, param_names=self.param_names).body())
        except (asyncio.CancelledError, GeneratorExit):
            how = "abandoned"
            raise
        finally:
            metrics.in_flight.dec()
            metrics.stream_endings.labels(how).inc()
            metrics.latency.labels("true").observe(time.perf_counter() - self.started)
            await stream.aclose()


async def _after(first, rest):
    """`first`, then every event of `rest`."""
    yield first
    async for event in rest:
        yield event
