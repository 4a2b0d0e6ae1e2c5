"""Every metric the dashboard, the alerts and the HPA use is one that something really exports.

Triton's server metrics are checked against a live server in tests/e2e/test_deploy_metrics.py;
here: the client's names against ClientMetrics, GPU names against Triton's documented list, and
that no name comes from nowhere.
"""

from __future__ import annotations

import pytest

from tests.unit.deploy.metric_names import (
    PROMETHEUS_SYNTHETIC,
    TRITON_GPU_METRICS,
    adapter_expressions,
    alert_expressions,
    client_metric_names,
    dashboard_expressions,
    gateway_metric_names,
    is_triton_server_metric,
    metric_names,
    names_used,
)


def test_every_expression_parses_as_promql():
    exprs = {**alert_expressions(), **dashboard_expressions(), **adapter_expressions()}
    assert len(exprs) > 20
    for where, expr in exprs.items():
        assert metric_names(expr), f"{where} selects no metric: {expr}"


def test_extraction_finds_names_inside_functions_and_binary_operators():
    expr = ('histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="nv_fake"}[$__rate_interval])))'
            ' / on() group_left b + -c offset 5m')
    assert metric_names(expr) == {"a_bucket", "b", "c"}


def test_names_are_triton_client_gpu_or_prometheus_series():
    client = client_metric_names() | gateway_metric_names()
    unknown = {
        name: sorted(where) for name, where in names_used().items()
        if not (is_triton_server_metric(name) or name in client
                or name in TRITON_GPU_METRICS or name in PROMETHEUS_SYNTHETIC)
    }
    assert not unknown, f"metric names nobody exports: {unknown}"


def test_client_names_used_are_exported_by_the_client():
    used = {n for n in names_used() if n.startswith("pixel_client_")}
    assert used, "the dashboard and alerts should use the client's metrics"
    assert used <= client_metric_names(), used - client_metric_names()


@pytest.mark.parametrize("required", [
    "nv_inference_request_success", "nv_inference_request_duration_us",
    "nv_inference_queue_duration_us", "nv_inference_compute_infer_duration_us",
    "nv_gpu_utilization", "nv_gpu_memory_used_bytes",
    "pixel_client_request_latency_seconds_bucket", "pixel_client_cache_lookups_total",
    "pixel_client_crisis_flags_total",
    "pixel_engine_time_to_first_token_seconds_bucket", "pixel_engine_inter_token_seconds_bucket",
    "pixel_engine_queue_seconds_bucket", "pixel_engine_active_slots",
    "pixel_engine_prefix_cache_hits_total",
])
def test_dashboard_covers_the_issue_list(required):
    dashboard_names = set().union(*(metric_names(e) for e in dashboard_expressions().values()))
    assert required in dashboard_names


def test_gateway_names_used_are_exported_by_the_gateway():
    used = {n for n in names_used() if n.startswith("pixel_gateway_")}
    assert "pixel_gateway_requests_total" in used  # the gateway HPA's adapter rule
    assert used <= gateway_metric_names(), used - gateway_metric_names()
