"""Where the deployment files use metric names, and where those names come from.

One place for the contract between the dashboard/alerts/HPA and what is really exported:
- Triton's server metrics: checked against the live /metrics of the e2e server
  (tests/e2e/test_deploy_metrics.py);
- Triton's GPU metrics: a CPU server does not export them, so they are checked against the list
  documented in Triton's metrics guide (docs/user_guide/metrics.md, "GPU Metrics"), kept below;
- the client's metrics: taken from pipeline_lib.client.metrics.ClientMetrics itself;
- the gateway's metrics: taken from pipeline_lib.gateway.metrics.GatewayMetrics itself;
- series Prometheus makes up itself (`up`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import promql_parser
import yaml
from prometheus_client import CollectorRegistry

REPO = Path(__file__).resolve().parents[3]
ALERTS = REPO / "containers" / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "containers" / "grafana" / "dashboards" / "pixel.json"
ADAPTER_RULES = REPO / "deploy" / "k8s" / "prometheus-adapter" / "rules.yaml"

# Triton metrics guide, "GPU Metrics" (gauges, label gpu_uuid); exported only where a GPU is seen.
TRITON_GPU_METRICS = frozenset({
    "nv_gpu_utilization",
    "nv_gpu_memory_total_bytes",
    "nv_gpu_memory_used_bytes",
    "nv_gpu_power_usage",
    "nv_gpu_power_limit",
    "nv_energy_consumption",
})
# Series Prometheus adds to every scrape target.
PROMETHEUS_SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

# Grafana and prometheus-adapter put template syntax into PromQL; replace it with something the
# parser accepts before parsing (the metric names are untouched).
_TEMPLATE_SUBSTITUTIONS = (
    (re.compile(r"\$__rate_interval|\$__interval|\$__range"), "5m"),
    (re.compile(r"<<\.LabelMatchers>>,?"), ""),
    (re.compile(r"<<\.GroupBy>>"), "pod"),
)
_LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


def _walk(node) -> Iterator[str]:
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        return
    for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None:
            yield from _walk(child)
    for arg in getattr(node, "args", None) or ():
        yield from _walk(arg)


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression (raises ValueError if it does not parse)."""
    for pattern, replacement in _TEMPLATE_SUBSTITUTIONS:
        expr = pattern.sub(replacement, expr)
    return set(_walk(promql_parser.parse(expr)))


def alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}


def dashboard_expressions() -> dict[str, str]:
    """'panel title / refId' -> expr, plus the template variables' label_values queries."""
    dashboard = json.loads(DASHBOARD.read_text())
    found = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found[f"{panel['title']} / {target['refId']}"] = target["expr"]
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = _LABEL_VALUES.search(query)
        if match:
            found[f"variable {variable['name']}"] = match.group(1)
    return found


def adapter_expressions() -> dict[str, str]:
    config = yaml.safe_load(yaml.safe_load(ADAPTER_RULES.read_text())["data"]["config.yaml"])
    return {rule["name"]["as"]: rule["metricsQuery"] for rule in config["rules"]}


def names_used() -> dict[str, set[str]]:
    """Metric name -> where it is used, over alerts, dashboard and the HPA's adapter rule."""
    used: dict[str, set[str]] = {}
    for source, exprs in (("alerts", alert_expressions()), ("dashboard", dashboard_expressions()),
                          ("adapter", adapter_expressions())):
        for where, expr in exprs.items():
            for name in metric_names(expr):
                used.setdefault(name, set()).add(f"{source}: {where}")
    return used


def client_metric_names() -> set[str]:
    """Every series name the client's registry can export (counters' _total, histograms' parts)."""
    from pipeline_lib.client.metrics import ClientMetrics

    return _series_names(ClientMetrics(registry=CollectorRegistry()))


def gateway_metric_names() -> set[str]:
    """Every series name the gateway's registry can export."""
    from pipeline_lib.gateway.metrics import GatewayMetrics

    return _series_names(GatewayMetrics(registry=CollectorRegistry()))


def _series_names(metrics) -> set[str]:
    names = set()
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                "gauge": ("",), "summary": ("", "_sum", "_count", "_created")}
    for family in metrics.registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names


def is_triton_server_metric(name: str) -> bool:
    """Triton's own metrics, and the engine's (`pb_utils.MetricFamily`, same /metrics port)."""
    return (name.startswith("nv_") and name not in TRITON_GPU_METRICS) or name.startswith("pixel_engine_")
