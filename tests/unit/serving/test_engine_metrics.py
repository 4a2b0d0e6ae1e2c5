"""The engine's metrics as the flusher will publish them (the publishing itself runs in Triton:
tests/e2e/test_engine.py reads it back from the live /metrics)."""

from __future__ import annotations

import pytest

from pipeline_lib.serving.engine_metrics import LATENCY_BUCKETS_S, EngineMetrics


@pytest.fixture
def metrics():
    m = EngineMetrics(None, model="pixel_lm")  # pb_utils is only needed to publish
    m.stop()
    return m


def value(snapshot, name, *labels):
    return snapshot[(name, tuple(labels))][1]


def test_latencies_become_cumulative_histogram_buckets(metrics):
    for seconds in (0.02, 0.02, 0.3, 50.0):
        metrics.first_token(seconds)
    snap = metrics.snapshot()
    name = "pixel_engine_time_to_first_token_seconds"
    assert value(snap, name + "_bucket", ("le", "0.025")) == 2
    assert value(snap, name + "_bucket", ("le", "0.5")) == 3
    assert value(snap, name + "_bucket", ("le", repr(float(LATENCY_BUCKETS_S[-1])))) == 3
    assert value(snap, name + "_bucket", ("le", "+Inf")) == 4
    assert value(snap, name + "_count") == 4 and value(snap, name + "_sum") == pytest.approx(50.34)


def test_engine_stats_become_gauges_and_cumulative_counters(metrics):
    metrics.engine_state({"active_slots": 3, "waiting": 1, "steps": 10, "generated_tokens": 25,
                          "prefill_tokens_saved": 90})
    metrics.refused()
    metrics.finished("cancelled")
    metrics.finished("cancelled")
    snap = metrics.snapshot()
    assert snap[("pixel_engine_active_slots", ())] == ("gauge", 3)
    assert value(snap, "pixel_engine_decode_steps_total") == 10
    assert value(snap, "pixel_engine_prefill_tokens_saved_total") == 90
    assert value(snap, "pixel_engine_refused_total") == 1
    assert value(snap, "pixel_engine_requests_total", ("finish_reason", "cancelled")) == 2
