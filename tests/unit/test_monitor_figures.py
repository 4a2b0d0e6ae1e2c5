"""pipeline_lib.monitor: parsing Triton's exposition text and turning counters into figures.

The text below is the format tritonserver 2.51 served on this machine (model renamed, two versions
and a second scrape added by hand); the GPU lines follow Triton's documented GPU metrics, which a
CPU server does not export. The live path is covered by tests/e2e/test_monitor.py.
"""

from __future__ import annotations

import pytest
from rich.console import Console

from pipeline_lib.monitor import MetricsUnavailableError, model_figures, parse_metrics, render

SCRAPE_1 = """\
# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="pixel_lm",version="1"} 4
nv_inference_request_success{model="pixel_lm",version="2"} 6
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="pixel_lm",reason="BACKEND",version="1"} 1
nv_inference_request_failure{model="pixel_lm",reason="REJECTED",version="1"} 2
# TYPE nv_inference_count counter
nv_inference_count{model="pixel_lm",version="1"} 10
# TYPE nv_inference_exec_count counter
nv_inference_exec_count{model="pixel_lm",version="1"} 5
# TYPE nv_inference_request_duration_us counter
nv_inference_request_duration_us{model="pixel_lm",version="1"} 200000
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="pixel_lm",version="1"} 50000
# TYPE nv_inference_compute_input_duration_us counter
nv_inference_compute_input_duration_us{model="pixel_lm",version="1"} 1000
# TYPE nv_inference_compute_infer_duration_us counter
nv_inference_compute_infer_duration_us{model="pixel_lm",version="1"} 140000
# TYPE nv_inference_compute_output_duration_us counter
nv_inference_compute_output_duration_us{model="pixel_lm",version="1"} 2000
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{model="pixel_lm",version="1"} 3
# TYPE nv_gpu_utilization gauge
nv_gpu_utilization{gpu_uuid="GPU-abc"} 0.75
# TYPE nv_gpu_memory_used_bytes gauge
nv_gpu_memory_used_bytes{gpu_uuid="GPU-abc"} 2147483648
# TYPE nv_gpu_memory_total_bytes gauge
nv_gpu_memory_total_bytes{gpu_uuid="GPU-abc"} 85899345920
"""
# 2 s later: 20 more requests, 400 ms more queue time.
SCRAPE_2 = (SCRAPE_1
            .replace('version="2"} 6', 'version="2"} 26')
            .replace("} 50000", "} 450000")
            .replace("} 200000", "} 1200000"))


def test_parse_sums_versions_and_reasons():
    snap = parse_metrics(SCRAPE_1, taken_at=0.0)
    lm = snap.models["pixel_lm"]
    assert lm.success == 10
    assert lm.failure == 3
    assert lm.pending == 3
    assert snap.gpus["GPU-abc"].utilization == 0.75
    assert snap.gpus["GPU-abc"].memory_total == 80 * 2**30


def test_single_scrape_gives_means_since_start_and_no_rate():
    (lm,) = model_figures(parse_metrics(SCRAPE_1, taken_at=0.0))
    assert lm.requests_per_s is None
    assert lm.request_ms == pytest.approx(20.0)  # 200 ms over 10 requests
    assert lm.queue_ms == pytest.approx(5.0)
    assert lm.compute_infer_ms == pytest.approx(14.0)
    assert lm.mean_batch == pytest.approx(2.0)


def test_two_scrapes_give_rates_over_the_window():
    (lm,) = model_figures(parse_metrics(SCRAPE_2, taken_at=2.0), parse_metrics(SCRAPE_1, taken_at=0.0))
    assert lm.requests == 20
    assert lm.requests_per_s == pytest.approx(10.0)
    assert lm.queue_ms == pytest.approx(20.0)  # 400 ms over 20 requests
    assert lm.request_ms == pytest.approx(50.0)


def test_a_server_restart_measures_from_zero():
    (lm,) = model_figures(parse_metrics(SCRAPE_1, taken_at=5.0), parse_metrics(SCRAPE_2, taken_at=0.0))
    assert lm.requests == 10


def test_render_shows_models_and_gpus():
    console = Console(width=160, record=True)
    console.print(render(parse_metrics(SCRAPE_2, taken_at=2.0), parse_metrics(SCRAPE_1, taken_at=0.0)))
    text = console.export_text()
    assert "pixel_lm" in text and "10.00" in text  # req/s
    assert "GPU-abc" in text and "75 %" in text and "2.00 GiB" in text


def test_text_that_is_not_prometheus_is_refused():
    with pytest.raises(MetricsUnavailableError, match="8002"):
        parse_metrics("<html>not metrics</html>")
