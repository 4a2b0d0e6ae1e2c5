"""PixelClient: raw text in, a decoded, scored PixelResult out, over Triton gRPC (or HTTP).

One client holds one connection (reused by every call), a sticky A/B router, a cache, metrics
and an optional outcome recorder. Use it as `async with PixelClient(...) as client:`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pipeline_lib.client.ab import Variant, VariantRouter
from pipeline_lib.client.batch import BatchOutcome, InferRequest, PixelBatchInferenceManager
from pipeline_lib.client.cache import (
    CacheUnavailable,
    MemoryCache,
    RedisCache,
    ResultCache,
    cache_key,
)
from pipeline_lib.client.errors import ClientError, InvalidRequestError, classify
from pipeline_lib.client.metrics import ClientMetrics, context_label
from pipeline_lib.client.recording import OutcomeRecorder, record_outcome
from pipeline_lib.client.result import ModelOutputs, PixelResult, encode_inputs
from pipeline_lib.client.retry import call_with_retries
from pipeline_lib.client.settings import CacheSettings, ClientSettings
from pipeline_lib.client.transport import Transport, make_transport

log = logging.getLogger(__name__)
_DEFAULT = object()


@dataclass(frozen=True)
class HealthReport:
    url: str
    live: bool
    ready: bool
    models: dict[str, bool]  # every model in the repository (and every variant's) -> ready
    error: str | None = None  # why the server could not be asked, if it could not

    @property
    def healthy(self) -> bool:
        return self.live and self.ready and bool(self.models) and all(self.models.values())


def build_cache(settings: CacheSettings) -> ResultCache | None:
    if settings.backend == "redis":
        return RedisCache(
            url=settings.redis_url, ttl_s=settings.ttl_s, prefix=settings.prefix,
            retry_after_s=settings.retry_after_s,
        )
    if settings.backend == "memory":
        return MemoryCache(max_entries=settings.max_entries, ttl_s=settings.ttl_s)
    return None


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

    @property
    def transport(self) -> Transport:
        # Created on first use, inside the running event loop the channel will belong to.
        if self._transport is None:
            self._transport = make_transport(self.settings.protocol, self.url)
        return self._transport

    async def __aenter__(self) -> PixelClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
            self._transport = None
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
    ) -> PixelResult:
        """Ask Pixel once. Raises a ClientError subclass (see errors.py) when it cannot answer.

        `timeout` is the deadline in seconds for the whole call, retries included (default
        client.timeout_s); `use_cache=False` bypasses the cache for this call.
        """
        _check_request(text, session_id, context_type)
        started = time.perf_counter()
        variant = self.router.assign(session_id)
        request_id = uuid.uuid4().hex
        context = context_label(context_type)
        try:
            outputs, cache_hit, attempts = await self._outputs(
                variant, text, session_id, context_type, request_id,
                timeout or self.settings.timeout_s, use_cache,
            )
        except ClientError as error:
            latency_ms = (time.perf_counter() - started) * 1000.0
            self.metrics.requests.labels(variant.name, context, "error").inc()
            self.metrics.errors.labels(variant.name, error.kind).inc()
            await self._record(request_id, session_id, variant, context_type, text, latency_ms,
                               None, error.kind)
            raise
        latency_ms = (time.perf_counter() - started) * 1000.0
        result = PixelResult(
            request_id=request_id, variant=variant.name, model_name=variant.model_name,
            model_version=variant.model_version, context_type=context_type,
            response_text=outputs.response_text, eq_scores=outputs.eq_scores,
            overall_eq=outputs.overall_eq, safety_score=outputs.safety_score,
            bias_score=outputs.bias_score, persona_mode=outputs.persona_mode,
            crisis_flag=outputs.crisis_flag, server_time_ms=outputs.server_time_ms,
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
        request_id: str, deadline_s: float, use_cache: bool,
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

        inputs = encode_inputs(text=text, session_id=session_id, context_type=context_type)

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

    async def _record(self, request_id, session_id, variant, context_type, text, latency_ms,
                      result, error_kind) -> None:
        if self.recorder is None:
            return
        await record_outcome(
            self.recorder, request_id=request_id, session_id=session_id, variant=variant,
            context_type=context_type, user_text=text, latency_ms=latency_ms, result=result,
            error_kind=error_kind,
        )

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
        )

    async def health(self) -> HealthReport:
        """Server liveness, readiness and each model's readiness; never raises for a down server."""
        t = self.settings.health_timeout_s
        try:
            async with asyncio.timeout(t * 3):
                live = await self.transport.server_live(t)
                ready = await self.transport.server_ready(t)
                names = {m["name"] for m in await self.transport.model_index(t) if "name" in m}
                names |= {v.model_name for v in self.router.variants}
                models = {}
                for name in sorted(names):
                    version = next((v.model_version for v in self.router.variants
                                    if v.model_name == name), "")
                    models[name] = await self.transport.model_ready(name, version, t)
        except Exception as exc:  # noqa: BLE001 -- a health probe reports, it does not raise
            error = classify(exc, url=self.url) if not isinstance(exc, TimeoutError) else None
            detail = str(error) if error else f"no answer within {t * 3:.0f}s"
            return HealthReport(self.url, False, False, {}, detail)
        return HealthReport(self.url, live, ready, models)


def _check_request(text: object, session_id: object, context_type: object) -> None:
    """Type checks only: the server owns the content rules (and names the field it refuses)."""
    for field, value in (("text", text), ("session_id", session_id),
                         ("context_type", context_type)):
        if not isinstance(value, str):
            raise InvalidRequestError(field, f"must be a str, not {type(value).__name__}")
    if not session_id:
        raise InvalidRequestError("session_id", "must not be empty (it picks the A/B variant)")
