"""PixelClient: raw text in, a decoded, scored PixelResult out, over Triton gRPC (or HTTP).

One client holds one connection (reused by every call), a sticky A/B router, a cache, metrics
and an optional outcome recorder. Use it as `async with PixelClient(...) as client:`.
`stream()` (streaming.py) gives the reply as it is generated; it always goes over gRPC.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from pipeline_lib.client.ab import Variant, VariantRouter
from pipeline_lib.client.batch import BatchOutcome, InferRequest, PixelBatchInferenceManager
from pipeline_lib.client.cache import CacheUnavailable, ResultCache, build_cache, cache_key
from pipeline_lib.client.errors import ClientError, OutcomesBackedUpError, classify
from pipeline_lib.client.health import HealthReport, check_health
from pipeline_lib.client.metrics import ClientMetrics, context_label
from pipeline_lib.client.recording import OutcomeRecorder, record_outcome
from pipeline_lib.client.request import GenerationOptions, check_request, conversation_tensors
from pipeline_lib.client.result import ModelOutputs, PixelResult, encode_inputs
from pipeline_lib.client.retry import call_with_retries
from pipeline_lib.client.settings import ClientSettings
from pipeline_lib.client.streaming import PixelStream
from pipeline_lib.client.transport import GrpcTransport, Transport, make_transport
from pipeline_lib.errors import PixelError

log = logging.getLogger(__name__)
_DEFAULT = object()


class PixelClient:
    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        protocol: str | None = None,
        url: str | None = None,
        router: VariantRouter | None = None,
        cache: ResultCache | None | object = _DEFAULT,
        metrics: ClientMetrics | None = None,
        recorder: OutcomeRecorder | None = None,
    ):
        settings = settings or ClientSettings()
        if protocol is not None:
            settings = replace(settings, protocol=protocol)
        if url is not None:
            settings = replace(settings, **{f"{settings.protocol}_url": url})
        self.settings = settings
        self.url = settings.url
        self.router = router or settings.router()
        self.cache: ResultCache | None = build_cache(settings.cache) if cache is _DEFAULT else cache
        self.metrics = metrics or ClientMetrics()
        self.metrics_port: int | None = None
        if settings.metrics_enabled:
            self.metrics_port = self.metrics.serve(settings.metrics_port, settings.metrics_addr)
        self.recorder = recorder
        self._cache_key = settings.cache.key.encode()
        self._transport: Transport | None = None
        self._grpc_for_streams: GrpcTransport | None = None

    @property
    def transport(self) -> Transport:
        # Created on first use, inside the running event loop the channel will belong to.
        if self._transport is None:
            self._transport = make_transport(self.settings.protocol, self.url, self.settings.tls)
        return self._transport

    @property
    def stream_transport(self) -> GrpcTransport:
        """Streams need gRPC: the client's own transport, or one to client.grpc_url."""
        if self.settings.protocol == "grpc":
            return self.transport  # type: ignore[return-value]
        if self._grpc_for_streams is None:
            self._grpc_for_streams = GrpcTransport(self.settings.grpc_url, self.settings.tls)
        return self._grpc_for_streams

    async def __aenter__(self) -> PixelClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        for transport in (self._transport, self._grpc_for_streams):
            if transport is not None:
                await transport.close()
        self._transport = self._grpc_for_streams = None
        if self.cache is not None:
            await self.cache.close()
        self.metrics.stop_serving()

    async def infer(
        self,
        text: str,
        session_id: str,
        context_type: str = "general_support",
        *,
        timeout: float | None = None,
        use_cache: bool = True,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        conversation: Sequence[Mapping[str, str]] | None = None,
    ) -> PixelResult:
        """Ask Pixel once. Raises a ClientError subclass (see errors.py) when it cannot answer.

        `timeout` is the deadline in seconds for the whole call, retries included (default
        client.timeout_s); `use_cache=False` bypasses the cache for this call. The generation
        options (engine models only; None = the server's default) also bypass the cache.
        `conversation`: the earlier turns, oldest first, as {"role": "user"|"assistant"|"system",
        "content": str} (engine models only; `text` is the latest user message); it bypasses
        the cache too.
        """
        check_request(text, session_id, context_type)
        self._check_recording()
        generation = GenerationOptions(max_new_tokens, temperature, top_p, seed)
        earlier = conversation_tensors(conversation)
        started = time.perf_counter()
        variant = self.router.assign(session_id)
        request_id = uuid.uuid4().hex
        context = context_label(context_type)
        try:
            outputs, cache_hit, attempts = await self._outputs(
                variant, text, session_id, context_type, request_id,
                timeout or self.settings.timeout_s,
                use_cache and not generation.is_set and not earlier, generation, earlier,
            )
        except ClientError as error:
            latency_ms = (time.perf_counter() - started) * 1000.0
            self.metrics.requests.labels(variant.name, context, "error").inc()
            self.metrics.errors.labels(variant.name, error.kind).inc()
            await self._record(request_id, session_id, variant, context_type, text, latency_ms,
                               None, error.kind)
            raise
        latency_ms = (time.perf_counter() - started) * 1000.0
        result = PixelResult.from_outputs(
            outputs, request_id=request_id, variant=variant.name, model_name=variant.model_name,
            model_version=variant.model_version, context_type=context_type,
            latency_ms=latency_ms, cache_hit=cache_hit, attempts=attempts,
        )
        self.metrics.requests.labels(variant.name, context, "ok").inc()
        self.metrics.latency.labels(variant.name, "hit" if cache_hit else "miss").observe(
            latency_ms / 1000.0
        )
        if not cache_hit:
            self.metrics.server_time.labels(variant.name).observe(outputs.server_time_ms / 1000.0)
        if outputs.crisis_flag:
            self.metrics.crisis_flags.labels(variant.name, context).inc()
        await self._record(request_id, session_id, variant, context_type, text, latency_ms,
                           result, None)
        return result

    async def _outputs(
        self, variant: Variant, text: str, session_id: str, context_type: str,
        request_id: str, deadline_s: float, use_cache: bool, generation: GenerationOptions,
        earlier: Mapping[str, np.ndarray],
    ) -> tuple[ModelOutputs, bool, int]:
        key = None
        if self.cache is None or not use_cache:
            self.metrics.cache.labels(variant.name, "bypass").inc()
        else:
            key = cache_key(key=self._cache_key, variant=variant, context_type=context_type,
                            text=text)
            try:
                cached = await self.cache.get(key)
            except CacheUnavailable:
                self.metrics.cache.labels(variant.name, "unavailable").inc()
                cached = None
            else:
                self.metrics.cache.labels(variant.name, "hit" if cached else "miss").inc()
            if cached is not None:
                return cached, True, 0

        inputs = encode_inputs(text=text, session_id=session_id, context_type=context_type,
                               generation=generation.tensors(), conversation=earlier)

        async def attempt(remaining_s: float) -> ModelOutputs:
            self.metrics.attempts.labels(variant.name).inc()
            tensors = await self.transport.infer(
                model_name=variant.model_name, model_version=variant.model_version,
                inputs=inputs, request_id=request_id, timeout_s=remaining_s,
            )
            try:
                return ModelOutputs.from_tensors(tensors)
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise classify(exc, url=self.url) from exc

        def on_retry(error: ClientError, attempt_number: int, delay_s: float) -> None:
            self.metrics.retries.labels(variant.name, error.kind).inc()

        outputs, attempts = await call_with_retries(
            attempt, policy=self.settings.retry, deadline_s=deadline_s, url=self.url,
            on_retry=on_retry,
        )
        if key is not None and not outputs.crisis_flag:
            await self.cache.put(key, outputs)
        return outputs, False, attempts

    def _check_recording(self) -> None:
        """fail_closed at the spool's cap: refuse before any work (its outcome could not be kept)."""
        check = getattr(self.recorder, "check_accepting", None)
        if check is None:
            return
        try:
            check()
        except PixelError as exc:
            self.metrics.errors.labels(self.router.variants[0].name, "unavailable").inc()
            raise OutcomesBackedUpError(str(exc)) from None
        finally:
            self.metrics.observe_spool(self.recorder)

    async def _record(self, request_id, session_id, variant, context_type, text, latency_ms,
                      result, error_kind) -> None:
        if self.recorder is None:
            return
        await record_outcome(
            self.recorder, request_id=request_id, session_id=session_id, variant=variant,
            context_type=context_type, user_text=text, latency_ms=latency_ms, result=result,
            error_kind=error_kind,
        )
        self.metrics.observe_spool(self.recorder)

    def stream(
        self,
        text: str,
        session_id: str,
        context_type: str = "general_support",
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        conversation: Sequence[Mapping[str, str]] | None = None,
    ) -> PixelStream:
        """The reply as it is generated: StreamDelta events (the first is the crisis assessment),
        then the PixelResult. Retried only before the first event; closing it early cancels the
        server's work; recorded once. `timeout` covers the whole stream; `conversation` as in
        infer(). See streaming.py."""
        check_request(text, session_id, context_type)
        self._check_recording()
        generation = GenerationOptions(max_new_tokens, temperature, top_p, seed)
        inputs = encode_inputs(text=text, session_id=session_id, context_type=context_type,
                               generation=generation.tensors(),
                               conversation=conversation_tensors(conversation))
        return PixelStream(self, text=text, session_id=session_id, context_type=context_type,
                           inputs=inputs, timeout_s=timeout or self.settings.timeout_s)

    async def batch_infer(
        self, items: Iterable[InferRequest | tuple], *, concurrency: int | None = None
    ) -> list[BatchOutcome]:
        """Run many requests, at most `concurrency` at a time; outcomes in input order, each
        holding its result or its own error (one failure does not fail the batch)."""
        manager = PixelBatchInferenceManager(
            self.infer_request,
            concurrency=concurrency or self.settings.batch_concurrency,
            max_pending=self.settings.batch_max_pending,
        )
        async with manager:
            return await manager.map(InferRequest.coerce(item) for item in items)

    async def infer_request(self, request: InferRequest) -> PixelResult:
        return await self.infer(
            request.text, request.session_id, request.context_type,
            timeout=request.timeout, use_cache=request.use_cache,
            max_new_tokens=request.max_new_tokens, temperature=request.temperature,
            top_p=request.top_p, seed=request.seed, conversation=request.conversation,
        )

    async def health(self, *, probe: bool = True) -> HealthReport:
        """Server liveness, readiness, each model's readiness and (with `probe`) one tiny real
        request per A/B variant (health.py). Never raises for a down server."""
        return await check_health(self, probe=probe)
