"""Triton's own per-model statistics, read before and after a measurement: where the time went.

perf_analyzer's CSV sums an ensemble's steps into one queue and one compute figure; the deltas of
`get_inference_statistics` give each model's queue and compute time per request and its average
batch size over exactly the requests the point sent (warm-up included, which is one request).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from pipeline_lib.contract import ADMIN_KEY_ENV, admin_headers

PHASES = ("queue", "compute_input", "compute_infer", "compute_output")


@dataclass(frozen=True)
class ModelCounters:
    requests: int
    inferences: int
    executions: int
    success_ns: int
    phase_ns: dict[str, int]


def snapshot(client) -> dict[str, ModelCounters]:
    """Counters of every loaded model (a tritonclient.grpc client). Statistics are an admin API:
    the key comes from TRITON_ADMIN_KEY (perf.py sets it for the server it starts)."""
    headers = admin_headers(os.environ.get(ADMIN_KEY_ENV, ""), protocol="grpc")
    stats = client.get_inference_statistics(as_json=True, headers=headers)
    out = {}
    for m in stats.get("model_stats", []):
        s = m.get("inference_stats", {})
        out[m["name"]] = ModelCounters(
            requests=int(s.get("success", {}).get("count", 0)),
            inferences=int(m.get("inference_count", 0)),
            executions=int(m.get("execution_count", 0)),
            success_ns=int(s.get("success", {}).get("ns", 0)),
            phase_ns={p: int(s.get(p, {}).get("ns", 0)) for p in PHASES},
        )
    return out


def settled_snapshot(client, *, quiet_s: float, timeout_s: float = 120.0, poll_s: float = 0.1):
    """A snapshot taken once no counter has moved for `quiet_s`. A load generator can return while a
    request it sent is still inside the ensemble (its first step counted, the ensemble not yet); read
    at once, the steps of one point would disagree on how many requests they served."""
    last, still_since = snapshot(client), time.monotonic()
    deadline = still_since + timeout_s
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        now = snapshot(client)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_s:
            break
    return last


def step_rows(before: dict[str, ModelCounters], after: dict[str, ModelCounters]) -> list[dict]:
    """Per model that served requests in between: per-request times (ms) and average batch size."""
    rows = []
    for name, a in sorted(after.items()):
        b = before.get(name, ModelCounters(0, 0, 0, 0, {p: 0 for p in PHASES}))
        n = a.requests - b.requests
        if n <= 0:
            continue
        executions = a.executions - b.executions
        row = {"model": name, "requests": n,
               "avg_batch": (a.inferences - b.inferences) / executions if executions else 0.0,
               "request_ms": (a.success_ns - b.success_ns) / n / 1e6}
        for p in PHASES:
            row[f"{p}_ms"] = (a.phase_ns[p] - b.phase_ns[p]) / n / 1e6
        row["compute_ms"] = sum(row[f"{p}_ms"] for p in PHASES if p != "queue")
        rows.append(row)
    return rows
