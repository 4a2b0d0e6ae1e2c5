"""Client metrics: names, labels from fixed sets, and the /metrics endpoint."""

import urllib.request

from pipeline_lib.client.metrics import ClientMetrics, context_label


def test_context_label_keeps_cardinality_fixed():
    assert context_label("crisis_support") == "crisis_support"
    assert context_label("my secret diary") == "other"


def test_serve_exposes_pixel_client_metrics_on_a_port():
    metrics = ClientMetrics()
    metrics.requests.labels("control", "general_support", "ok").inc(3)
    metrics.errors.labels("control", "unavailable").inc()
    metrics.latency.labels("control", "miss").observe(0.8)
    port = metrics.serve(0)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        body = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        metrics.stop_serving()
    assert ('pixel_client_requests_total{context_type="general_support",outcome="ok",'
            'variant="control"} 3.0') in body
    assert 'pixel_client_errors_total{kind="unavailable",variant="control"} 1.0' in body
    assert "pixel_client_request_latency_seconds_bucket" in body
    samples = [line for line in body.splitlines() if line and line[0] != "#"]
    names = {line.split("{")[0].split(" ")[0] for line in samples}
    assert names and all(n.startswith("pixel_client_") for n in names)


def test_each_client_gets_its_own_registry():
    one, two = ClientMetrics(), ClientMetrics()
    one.attempts.labels("control").inc()
    assert b'pixel_client_attempts_total{variant="control"} 1.0' in one.exposition()
    assert b"pixel_client_attempts_total{" not in two.exposition()
