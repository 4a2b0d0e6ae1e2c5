"""Alert rules: crisis always, bias over the threshold, latency over the SLO."""

from __future__ import annotations

from pipeline_lib.store.alerts import alerts_for, crisis_severity
from pipeline_lib.store.settings import AlertThresholds

LIMITS = AlertThresholds(bias_max=0.5, latency_slo_ms=1000.0)


def test_quiet_outcome_raises_nothing(new_outcome):
    assert alerts_for(new_outcome(), LIMITS) == []


def test_each_rule(new_outcome):
    assert [a["table"] for a in alerts_for(new_outcome(crisis_flag=True), LIMITS)] == ["crisis_alerts"]
    assert [a["table"] for a in alerts_for(new_outcome(bias_score=0.51), LIMITS)] == ["bias_incidents"]
    assert alerts_for(new_outcome(bias_score=0.5), LIMITS) == []  # at the threshold is not over
    slow = alerts_for(new_outcome(latency_ms=1500.0), LIMITS)
    assert slow == [{"table": "performance_alerts", "metric": "latency_ms", "value": 1500.0,
                     "threshold": 1000.0}]


def test_crisis_severity_from_safety():
    assert crisis_severity(None) == "high"
    assert crisis_severity(0.1) == "high" and crisis_severity(0.5) == "medium"
    assert crisis_severity(0.9) == "low"
