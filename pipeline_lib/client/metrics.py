"""Prometheus metrics of the client, all named `pixel_client_*`.

Labels take values from fixed, small sets only (variant names from config, the four context
types, error kinds, cache outcomes): never user text, session ids or request ids.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

from pipeline_lib.client.result import CONTEXT_TYPES

log = logging.getLogger(__name__)

# Client latency runs from a cache hit (< 1 ms) to a CPU generation (seconds).
LATENCY_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def context_label(context_type: str) -> str:
    """Known context types pass through; anything else (a caller's typo) becomes 'other'."""
    return context_type if context_type in CONTEXT_TYPES else "other"


class ClientMetrics:
    """The client's counters and histograms in their own registry (one per client by default)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pixel_client_requests",
            "Calls to PixelClient.infer and .stream, by variant, context type and outcome "
            "(ok/error; cancelled: a stream closed by its caller before the end).",
            ["variant", "context_type", "outcome"],
            registry=r,
        )
        self.errors = Counter(
            "pixel_client_errors",
            "Failed calls by error kind (invalid_input, timeout, unavailable, overloaded, "
            "server_error).",
            ["variant", "kind"],
            registry=r,
        )
        self.attempts = Counter(
            "pixel_client_attempts",
            "Requests sent to the server (first tries and retries).",
            ["variant"],
            registry=r,
        )
        self.retries = Counter(
            "pixel_client_retries",
            "Retries, by the kind of error that caused them.",
            ["variant", "kind"],
            registry=r,
        )
        self.latency = Histogram(
            "pixel_client_request_latency_seconds",
            "Client-side latency of successful calls, retries and cache lookups included.",
            ["variant", "cache"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.server_time = Histogram(
            "pixel_client_server_inference_seconds",
            "inference_time_ms reported by the ensemble, in seconds.",
            ["variant"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.first_delta = Histogram(
            "pixel_client_stream_first_delta_seconds",
            "Streams: from the call to the first event (the crisis assessment), retries included.",
            ["variant"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.cache = Counter(
            "pixel_client_cache_lookups",
            "Cache lookups by result (hit, miss, bypass, unavailable).",
            ["variant", "result"],
            registry=r,
        )
        self.crisis_flags = Counter(
            "pixel_client_crisis_flags",
            "Results with crisis_flag set.",
            ["variant", "context_type"],
            registry=r,
        )

        # The outcome spool (store.spool): what a database outage has piled up on local disk.
        self.spool_records = Gauge(
            "pixel_client_spool_records", "Outcomes in the local spool, not yet in the database.",
            registry=r)
        self.spool_bytes = Gauge(
            "pixel_client_spool_bytes", "Bytes of the local outcome spool.", registry=r)
        self.spool_cap_bytes = Gauge(
            "pixel_client_spool_cap_bytes",
            "store.spool.max_bytes: at it, calls are refused (fail_closed) or outcomes dropped "
            "(drop_newest).", registry=r)
        self.spool_dropped = Counter(
            "pixel_client_spool_dropped",
            "Outcomes dropped at the spool's cap (store.spool.at_cap=drop_newest; each is logged).",
            registry=r)
        self._drops_seen = 0

    def observe_spool(self, recorder) -> None:
        """Copy a store Recorder's spool figures (any recorder without them is skipped)."""
        usage = getattr(recorder, "usage", None)
        if usage is None:
            return
        self.spool_records.set(usage.records)
        self.spool_bytes.set(usage.bytes)
        self.spool_cap_bytes.set(recorder.settings.spool.max_bytes)
        new_drops = recorder.dropped - self._drops_seen
        if new_drops > 0:
            self.spool_dropped.inc(new_drops)
            self._drops_seen = recorder.dropped

    def exposition(self) -> bytes:
        """The text the /metrics endpoint serves."""
        return generate_latest(self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve /metrics on a background thread; port 0 picks a free port. Returns the port."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        bound = int(server.server_address[1])
        self._server = server
        log.info("client metrics on http://%s:%d/metrics", addr, bound)
        return bound

    def stop_serving(self) -> None:
        server = getattr(self, "_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
            self._server = None
