"""Alert rules: which outcomes raise crisis alerts, bias incidents and performance alerts.

Rules run when an outcome is recorded (with the thresholds in force then), and the alerts travel
with the outcome through the spool, so a replay writes exactly the alerts the live path would have.
"""

from __future__ import annotations

from typing import Any

from pipeline_lib.store.records import OutcomeRecord
from pipeline_lib.store.settings import AlertThresholds

# Severity of a crisis alert from the safety score (1 = safe). No score counts as the worst case:
# a missed crisis is the most expensive error this product can make.
SEVERITY_BANDS = ((0.3, "high"), (0.6, "medium"))


def crisis_severity(safety_score: float | None) -> str:
    if safety_score is None:
        return "high"
    for upper, name in SEVERITY_BANDS:
        if safety_score < upper:
            return name
    return "low"


def alerts_for(record: OutcomeRecord, thresholds: AlertThresholds) -> list[dict[str, Any]]:
    """Alert rows (without request id, session or time, which the writer adds) for one outcome."""
    alerts: list[dict[str, Any]] = []
    if record.crisis_flag:
        alerts.append(
            {
                "table": "crisis_alerts",
                "safety_score": record.safety_score,
                "severity": crisis_severity(record.safety_score),
            }
        )
    if record.bias_score is not None and record.bias_score > thresholds.bias_max:
        alerts.append(
            {"table": "bias_incidents", "bias_score": record.bias_score, "threshold": thresholds.bias_max}
        )
    if record.latency_ms > thresholds.latency_slo_ms:
        alerts.append(
            {
                "table": "performance_alerts",
                "metric": "latency_ms",
                "value": record.latency_ms,
                "threshold": thresholds.latency_slo_ms,
            }
        )
    return alerts
