"""The engine's Prometheus metrics, exported by Triton itself (`pb_utils.MetricFamily`) on its
metrics port beside `nv_inference_*`: time to first token, inter-token latency, queue time,
active slots, waiting requests, prefix-cache hits and the prefill tokens they saved.

Why a flusher thread: every pb_utils metric call is a blocking round trip to the server process,
and on Triton 2.51 one such call from the engine's thread hung for good under load (the engine
stopped with 10 rows in flight). So the engine only updates local numbers (no IPC), and one
background thread publishes what changed twice a second; a stuck publish can stall the metrics,
never the replies. Latency histograms are aggregated here and published as Prometheus histogram
series (`_bucket{le}`, `_sum`, `_count` counters), which `histogram_quantile` reads as usual.
"""

from __future__ import annotations

import bisect
import logging
import threading

log = logging.getLogger(__name__)

LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FLUSH_INTERVAL_S = 0.5

LATENCIES = {
    "pixel_engine_time_to_first_token_seconds": "Time from arrival at the engine to the first token",
    "pixel_engine_inter_token_seconds": "Time between consecutive tokens of one request",
    "pixel_engine_queue_seconds": "Time from arrival at the engine to holding a KV-cache slot",
}
GAUGES = {
    "pixel_engine_active_slots": "KV-cache slots holding a request",
    "pixel_engine_waiting_requests": "Requests waiting for a KV-cache slot",
}
# counter -> the cumulative Engine.stats() key it follows (None: counted here)
COUNTERS = {
    "pixel_engine_prefix_cache_hits_total": (
        "Requests whose prompt prefix KV came from the cache", "prefix_hits"),
    "pixel_engine_prefill_tokens_saved_total": (
        "Prompt tokens not computed thanks to the prefix cache", "prefill_tokens_saved"),
    "pixel_engine_prefill_tokens_computed_total": (
        "Prompt tokens computed by prefill", "prefill_tokens_computed"),
    "pixel_engine_generated_tokens_total": ("Tokens generated", "generated_tokens"),
    # generated tokens / steps = rows batched per step (in-flight batching at work)
    "pixel_engine_decode_steps_total": (
        "Engine steps run (each decodes every running row once)", "steps"),
    "pixel_engine_refused_total": ("Requests refused at admission as overloaded", None),
}
FINISHED = ("pixel_engine_requests_total", "Requests finished, by finish_reason")


class EngineMetrics:
    def __init__(self, pb_utils, *, model: str):
        self.pb = pb_utils
        self.labels = {"model": model}
        self.lock = threading.Lock()
        # What the engine reports (local, cheap) ...
        self.counts: dict[str, float] = {name: 0.0 for name in COUNTERS}
        self.gauge_values: dict[str, float] = {name: 0.0 for name in GAUGES}
        self.hist: dict[str, list[float]] = {  # per latency: bucket counts, then sum, count
            name: [0.0] * (len(LATENCY_BUCKETS_S) + 3) for name in LATENCIES}
        self.finished_counts: dict[str, float] = {}
        # ... and what has been published (only the flusher thread touches these).
        self.published: dict[tuple, float] = {}
        self.families: dict[str, object] = {}  # a Metric dies with its MetricFamily: keep them
        self.metrics: dict[tuple, object] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._flush_loop, daemon=True,
                                       name="pixel-engine-metrics")
        self.thread.start()

    # -- called by the engine's thread: local updates only ---------------------------------------
    def _observe(self, name: str, seconds: float) -> None:
        with self.lock:
            h = self.hist[name]
            h[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1  # the last slot is +Inf
            h[-2] += seconds
            h[-1] += 1

    def first_token(self, seconds: float) -> None:
        self._observe("pixel_engine_time_to_first_token_seconds", seconds)

    def inter_token(self, seconds: float) -> None:
        self._observe("pixel_engine_inter_token_seconds", seconds)

    def admitted(self, queue_s: float) -> None:
        self._observe("pixel_engine_queue_seconds", queue_s)

    def refused(self) -> None:
        with self.lock:
            self.counts["pixel_engine_refused_total"] += 1

    def finished(self, reason: str) -> None:
        with self.lock:
            self.finished_counts[reason] = self.finished_counts.get(reason, 0.0) + 1

    def engine_state(self, stats: dict) -> None:
        with self.lock:
            self.gauge_values["pixel_engine_active_slots"] = stats["active_slots"]
            self.gauge_values["pixel_engine_waiting_requests"] = stats["waiting"]
            for name, (_, key) in COUNTERS.items():
                if key is not None:
                    self.counts[name] = float(stats.get(key, 0))

    def stop(self) -> None:
        """Stop publishing and drop every Metric and MetricFamily now, from `finalize`: one
        still alive when the interpreter tears down asks the already-gone stub to delete it
        (Triton 2.51: a segfault at every unload, in Metric::SaveToSharedMemory)."""
        self.stopping.set()
        self.thread.join(timeout=2 * FLUSH_INTERVAL_S + 5)
        self.metrics.clear()
        self.families.clear()

    # -- the flusher thread: the only caller of pb_utils metrics ----------------------------------
    def snapshot(self) -> dict[tuple, tuple[str, float]]:
        """(family, labels as a tuple) -> (kind, value) of everything to publish."""
        out: dict[tuple, tuple[str, float]] = {}
        with self.lock:
            for name, value in self.counts.items():
                out[(name, ())] = ("counter", value)
            for name, value in self.gauge_values.items():
                out[(name, ())] = ("gauge", value)
            for reason, value in self.finished_counts.items():
                out[(FINISHED[0], (("finish_reason", reason),))] = ("counter", value)
            for name, h in self.hist.items():
                cumulative = 0.0
                for bound, count in zip((*LATENCY_BUCKETS_S, "+Inf"), h[:-2]):
                    cumulative += count
                    le = bound if isinstance(bound, str) else repr(float(bound))
                    out[(name + "_bucket", (("le", le),))] = ("counter", cumulative)
                out[(name + "_sum", ())] = ("counter", h[-2])
                out[(name + "_count", ())] = ("counter", h[-1])
        return out

    def _metric(self, family: str, labels: tuple, kind: str):
        key = (family, labels)
        if key not in self.metrics:
            if family not in self.families:
                doc = (LATENCIES.get(family.rsplit("_", 1)[0]) or GAUGES.get(family)
                       or COUNTERS.get(family, (FINISHED[1],))[0])
                kinds = self.pb.MetricFamily
                self.families[family] = kinds(
                    name=family, description=doc,
                    kind=kinds.GAUGE if kind == "gauge" else kinds.COUNTER)
            self.metrics[key] = self.families[family].Metric(labels={**self.labels,
                                                                     **dict(labels)})
        return self.metrics[key]

    def flush(self) -> None:
        for key, (kind, value) in self.snapshot().items():
            if self.published.get(key) == value:
                continue  # unchanged: no round trip to the server
            metric = self._metric(*key, kind)
            if kind == "gauge":
                metric.set(value)
            else:
                metric.increment(value - self.published.get(key, 0.0))
            self.published[key] = value

    def _flush_loop(self) -> None:
        while not self.stopping.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - metrics must never take the engine down
                log.exception("publishing engine metrics failed")
