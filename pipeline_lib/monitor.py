"""Read Triton's Prometheus endpoint (port 8002) and turn it into figures a person can watch.

Triton exports cumulative counters (requests, microseconds spent queued and computing) per model and
gauges for the GPU. One scrape gives means since the server started; two scrapes give rates and
means over the interval between them, which is what `pixel monitor` shows live. The table is built
here as a `rich` renderable; printing it is the CLI's job.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.table import Table

from pipeline_lib.errors import PixelError

log = logging.getLogger(__name__)

# Per-model cumulative counters we read, by their name in /metrics (Triton 2.51 and later).
MODEL_COUNTERS = {
    "nv_inference_request_success": "success",
    "nv_inference_request_failure": "failure",
    "nv_inference_count": "inferences",
    "nv_inference_exec_count": "executions",
    "nv_inference_request_duration_us": "request_us",
    "nv_inference_queue_duration_us": "queue_us",
    "nv_inference_compute_input_duration_us": "compute_input_us",
    "nv_inference_compute_infer_duration_us": "compute_infer_us",
    "nv_inference_compute_output_duration_us": "compute_output_us",
}
MODEL_GAUGES = {"nv_inference_pending_request_count": "pending"}
# GPU gauges appear only where Triton sees a GPU (label gpu_uuid).
GPU_GAUGES = {
    "nv_gpu_utilization": "utilization",
    "nv_gpu_memory_used_bytes": "memory_used",
    "nv_gpu_memory_total_bytes": "memory_total",
}


class MetricsUnavailableError(PixelError):
    """The metrics endpoint could not be read or parsed."""


@dataclass
class ModelCounters:
    """Cumulative totals for one model (all versions summed), as of one scrape."""

    success: float = 0.0
    failure: float = 0.0
    inferences: float = 0.0
    executions: float = 0.0
    request_us: float = 0.0
    queue_us: float = 0.0
    compute_input_us: float = 0.0
    compute_infer_us: float = 0.0
    compute_output_us: float = 0.0
    pending: float = 0.0


@dataclass
class GpuGauges:
    utilization: float = 0.0  # 0..1
    memory_used: float = 0.0  # bytes
    memory_total: float = 0.0


@dataclass
class Snapshot:
    """One scrape: when it was taken (monotonic seconds), per-model counters, per-GPU gauges."""

    taken_at: float
    models: dict[str, ModelCounters] = field(default_factory=dict)
    gpus: dict[str, GpuGauges] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelFigures:
    """What the monitor shows for a model over a window (or since start, with no previous scrape)."""

    model: str
    requests_per_s: float | None  # None for a single scrape: there is no window to divide by
    failures: float
    requests: float
    request_ms: float | None  # mean per successful request
    queue_ms: float | None
    compute_input_ms: float | None
    compute_infer_ms: float | None
    compute_output_ms: float | None
    mean_batch: float | None  # inferences per execution
    pending: float


def parse_metrics(text: str, *, taken_at: float | None = None) -> Snapshot:
    """Parse Prometheus text exposition into a Snapshot; unknown metrics are ignored."""
    snapshot = Snapshot(taken_at=time.monotonic() if taken_at is None else taken_at)
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise MetricsUnavailableError(
            f"the metrics text is not Prometheus exposition format ({exc}); "
            "point --url at Triton's metrics port, e.g. http://HOST:8002/metrics") from exc
    for family in families:
        for sample in family.samples:
            # The parser reports a counter's samples as `<name>_total`; Triton's names have no
            # suffix, so match on the family name.
            name = family.name if sample.name in (family.name, f"{family.name}_total") else sample.name
            if name in MODEL_COUNTERS or name in MODEL_GAUGES:
                model = sample.labels.get("model")
                if model is None:
                    continue
                attr = MODEL_COUNTERS.get(name) or MODEL_GAUGES[name]
                counters = snapshot.models.setdefault(model, ModelCounters())
                setattr(counters, attr, getattr(counters, attr) + sample.value)
            elif name in GPU_GAUGES:
                gpu = snapshot.gpus.setdefault(sample.labels.get("gpu_uuid", "gpu"), GpuGauges())
                setattr(gpu, GPU_GAUGES[name], sample.value)
    return snapshot


def fetch_snapshot(url: str, *, timeout_s: float = 5.0) -> Snapshot:
    """Scrape `url` (Triton's /metrics) once."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (operator URL)
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError) as exc:
        raise MetricsUnavailableError(
            f"cannot read {url}: {exc}; is tritonserver running with metrics on "
            "(--allow-metrics=true, port 8002 by default)?") from exc
    snapshot = parse_metrics(text)
    log.debug("scraped %s: %d models, %d GPUs", url, len(snapshot.models), len(snapshot.gpus))
    return snapshot


def _per_request_ms(total_us: float, requests: float) -> float | None:
    return total_us / requests / 1000.0 if requests > 0 else None


def model_figures(current: Snapshot, previous: Snapshot | None = None) -> list[ModelFigures]:
    """Figures per model, sorted by name: over the window since `previous`, or since server start.

    A model absent from `previous` (loaded in between) is measured from zero. A counter that went
    down means the server restarted; that model is then measured from zero too.
    """
    window = current.taken_at - previous.taken_at if previous else None
    figures = []
    for model in sorted(current.models):
        now = current.models[model]
        before = previous.models.get(model, ModelCounters()) if previous else ModelCounters()
        if now.success < before.success or now.request_us < before.request_us:
            before = ModelCounters()
        delta = {
            attr: getattr(now, attr) - getattr(before, attr) for attr in MODEL_COUNTERS.values()
        }
        ok = delta["success"]
        figures.append(ModelFigures(
            model=model,
            requests_per_s=(ok / window) if window and window > 0 else None,
            failures=delta["failure"],
            requests=ok,
            request_ms=_per_request_ms(delta["request_us"], ok),
            queue_ms=_per_request_ms(delta["queue_us"], ok),
            compute_input_ms=_per_request_ms(delta["compute_input_us"], ok),
            compute_infer_ms=_per_request_ms(delta["compute_infer_us"], ok),
            compute_output_ms=_per_request_ms(delta["compute_output_us"], ok),
            mean_batch=(delta["inferences"] / delta["executions"]) if delta["executions"] else None,
            pending=now.pending,
        ))
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def render(current: Snapshot, previous: Snapshot | None = None, *, url: str = "",
           models: list[str] | None = None) -> Group:
    """The monitor's view: a table per model and, where Triton sees GPUs, a GPU table."""
    figures = model_figures(current, previous)
    if models:
        figures = [f for f in figures if f.model in models]
    if previous is None:
        span = "since server start (one scrape; rates need two: drop --once)"
    else:
        span = f"over the last {current.taken_at - previous.taken_at:.1f} s"
    table = Table(title=f"Triton models {span}", caption=url or None, title_justify="left")
    for header in ("model", "req/s", "ok", "failed", "latency ms", "queue ms",
                   "input ms", "infer ms", "output ms", "batch", "pending"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for f in figures:
        table.add_row(
            f.model,
            "-" if f.requests_per_s is None else f"{f.requests_per_s:,.2f}",
            f"{f.requests:,.0f}",
            f"{f.failures:,.0f}",
            _ms(f.request_ms), _ms(f.queue_ms), _ms(f.compute_input_ms),
            _ms(f.compute_infer_ms), _ms(f.compute_output_ms),
            "-" if f.mean_batch is None else f"{f.mean_batch:.2f}",
            f"{f.pending:,.0f}",
        )
    if not figures:
        table.add_row("(no model metrics yet)", *[""] * 10)
    parts: list = [table]
    if current.gpus:
        gpu_table = Table(title="GPUs", title_justify="left")
        for header in ("gpu", "utilisation", "memory used", "memory total"):
            gpu_table.add_column(header, justify="left" if header == "gpu" else "right")
        for uuid, gpu in sorted(current.gpus.items()):
            gpu_table.add_row(uuid, f"{gpu.utilization * 100:.0f} %",
                              f"{gpu.memory_used / 2**30:,.2f} GiB",
                              f"{gpu.memory_total / 2**30:,.2f} GiB")
        parts.append(gpu_table)
    else:
        parts.append("[dim]no GPU metrics (CPU-only server, or --allow-gpu-metrics=false)[/]")
    return Group(*parts)
