"""The engine's Prometheus metrics, exported by Triton itself (`pb_utils.MetricFamily`) on its
metrics port beside `nv_inference_*`: time to first token, inter-token latency, queue time,
active slots, waiting requests, prefix-cache hits and the prefill tokens they saved.

Latencies are histograms where this Triton's Python backend has them, else `_sum`/`_count`
counter pairs (the same PromQL `rate(x_sum) / rate(x_count)` works on both).
"""

from __future__ import annotations

LATENCY_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]

LATENCIES = {
    "pixel_engine_time_to_first_token_seconds": "Time from arrival at the engine to the first token",
    "pixel_engine_inter_token_seconds": "Time between consecutive tokens of one request",
    "pixel_engine_queue_seconds": "Time from arrival at the engine to holding a KV-cache slot",
}
GAUGES = {
    "pixel_engine_active_slots": "KV-cache slots holding a request",
    "pixel_engine_waiting_requests": "Requests waiting for a KV-cache slot",
}
COUNTERS = {
    "pixel_engine_prefix_cache_hits_total": "Requests whose prompt prefix KV came from the cache",
    "pixel_engine_prefill_tokens_saved_total": "Prompt tokens not computed thanks to the prefix cache",
    "pixel_engine_prefill_tokens_computed_total": "Prompt tokens computed by prefill",
    "pixel_engine_generated_tokens_total": "Tokens generated",
    # generated tokens / steps = rows batched per step (in-flight batching at work)
    "pixel_engine_decode_steps_total": "Engine steps run (each decodes every running row once)",
    "pixel_engine_refused_total": "Requests refused at admission as overloaded",
}
FINISHED = ("pixel_engine_requests_total", "Requests finished, by finish_reason")


class EngineMetrics:
    def __init__(self, pb_utils, *, model: str):
        self.labels = {"model": model}
        self.kinds = pb_utils.MetricFamily
        self.families: list = []  # a Metric dies with its MetricFamily: keep every family alive
        self.histograms = hasattr(self.kinds, "HISTOGRAM")
        self.latency = {}
        for name, doc in LATENCIES.items():
            if self.histograms:
                self.latency[name] = self._family(name, doc, self.kinds.HISTOGRAM).Metric(
                    labels=self.labels, buckets=LATENCY_BUCKETS_S)
            else:
                self.latency[name] = tuple(
                    self._family(name + suffix, doc, self.kinds.COUNTER).Metric(labels=self.labels)
                    for suffix in ("_sum", "_count"))
        self.gauges = {n: self._family(n, d, self.kinds.GAUGE).Metric(labels=self.labels)
                       for n, d in GAUGES.items()}
        self.counters = {n: self._family(n, d, self.kinds.COUNTER).Metric(labels=self.labels)
                         for n, d in COUNTERS.items()}
        self.finished_family = self._family(*FINISHED, self.kinds.COUNTER)
        self.finished_by_reason: dict[str, object] = {}
        self._last: dict[str, float] = {}

    def _family(self, name: str, description: str, kind):
        self.families.append(self.kinds(name=name, description=description, kind=kind))
        return self.families[-1]

    def _observe(self, name: str, seconds: float) -> None:
        metric = self.latency[name]
        if self.histograms:
            metric.observe(seconds)
        else:
            metric[0].increment(seconds)
            metric[1].increment(1)

    def first_token(self, seconds: float) -> None:
        self._observe("pixel_engine_time_to_first_token_seconds", seconds)

    def inter_token(self, seconds: float) -> None:
        self._observe("pixel_engine_inter_token_seconds", seconds)

    def admitted(self, queue_s: float) -> None:
        self._observe("pixel_engine_queue_seconds", queue_s)

    def refused(self) -> None:
        self.counters["pixel_engine_refused_total"].increment(1)

    def finished(self, reason: str) -> None:
        if reason not in self.finished_by_reason:
            self.finished_by_reason[reason] = self.finished_family.Metric(
                labels={**self.labels, "finish_reason": reason})
        self.finished_by_reason[reason].increment(1)

    def engine_state(self, stats: dict) -> None:
        """Gauges from `Engine.stats()`; its cumulative counts become counter increments."""
        self.gauges["pixel_engine_active_slots"].set(stats["active_slots"])
        self.gauges["pixel_engine_waiting_requests"].set(stats["waiting"])
        for counter, key in (("pixel_engine_prefix_cache_hits_total", "prefix_hits"),
                             ("pixel_engine_prefill_tokens_saved_total", "prefill_tokens_saved"),
                             ("pixel_engine_prefill_tokens_computed_total",
                              "prefill_tokens_computed"),
                             ("pixel_engine_generated_tokens_total", "generated_tokens"),
                             ("pixel_engine_decode_steps_total", "steps")):
            value = float(stats.get(key, 0))
            increase = value - self._last.get(key, 0.0)
            if increase > 0:
                self.counters[counter].increment(increase)
            self._last[key] = value
