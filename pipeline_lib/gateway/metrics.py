"""Prometheus metrics of the gateway, all named `pixel_gateway_*`, in their own registry.

Labels take values from fixed sets only: the served model ids (anything else is `other`),
`stream` true/false, the HTTP status, a refusal reason. Never text, keys, session or request ids.
GET /metrics serves these and the embedded client's `pixel_client_*` metrics together.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pipeline_lib.gateway.catalog import MODELS

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
REFUSALS = ("auth", "rate_limit", "body_size", "invalid", "not_found")


def model_label(model: str | None) -> str:
    return model if model in MODELS else "other"


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pixel_gateway_requests",
            "Chat completion requests by model id, stream (true/false) and HTTP status "
            "(a stream that started counts 200, also when it failed or was abandoned later).",
            ["model", "stream", "status"], registry=r)
        self.latency = Histogram(
            "pixel_gateway_request_seconds",
            "Chat completions: from the request to the last byte of the answer.",
            ["stream"], buckets=LATENCY_BUCKETS_S, registry=r)
        self.first_chunk = Histogram(
            "pixel_gateway_first_chunk_seconds",
            "Streams: from the request to the first chunk (the crisis assessment).",
            buckets=LATENCY_BUCKETS_S, registry=r)
        self.in_flight = Gauge(
            "pixel_gateway_in_flight_requests",
            "Chat completions being answered now (streams included).", registry=r)
        self.refusals = Counter(
            "pixel_gateway_refusals",
            "Requests refused at the door, by reason (auth, rate_limit, body_size, invalid, "
            "not_found).", ["reason"], registry=r)
        self.stream_endings = Counter(
            "pixel_gateway_stream_endings",
            "How streams ended: done, abandoned (the caller went away), error.",
            ["how"], registry=r)
        for reason in REFUSALS:
            self.refusals.labels(reason)
        for how in ("done", "abandoned", "error"):
            self.stream_endings.labels(how)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
