"""Every Triton server metric the dashboard, the alerts and the HPA rule use is in the live /metrics
of the real server; the container health check answers from the same server.

GPU metrics are not exported by a CPU server: they are checked against Triton's documented list in
tests/unit/deploy/metric_names.py, and the client's against ClientMetrics (tests/unit/deploy).
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest

from tests.unit.deploy.metric_names import REPO, is_triton_server_metric, names_used

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SAMPLE_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", re.M)


def live_metric_names(metrics_url: str) -> set[str]:
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        return set(SAMPLE_NAME.findall(response.read().decode()))


def test_dashboard_alert_and_hpa_names_exist_on_the_live_server(triton_server):
    live = live_metric_names(triton_server.metrics_url)
    assert "nv_inference_request_success" in live  # the server exports per-model metrics at all
    used = {name: where for name, where in names_used().items() if is_triton_server_metric(name)}
    assert len(used) >= 9
    missing = {name: sorted(where) for name, where in used.items() if name not in live}
    assert not missing, f"used but not exported by tritonserver: {missing}"


def test_health_check_script_reports_readiness_and_a_real_answer(triton_server, tmp_path):
    script = REPO / "containers" / "healthcheck.py"
    common = [sys.executable, str(script), "--url", f"http://{triton_server.http_url}",
              "--status-file", str(tmp_path / "no-supervisor.json"), "--timeout", "60"]
    ready = subprocess.run([*common, "--model", "pixel"], capture_output=True, text=True,
                           timeout=120)
    assert ready.returncode == 0, ready.stderr
    assert "probe pixel: answered" in ready.stderr  # one real inference, not readiness alone
    missing = subprocess.run([*common, "--model", "no_such_model"], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1
    assert "FAILED" in missing.stderr and "no_such_model" in missing.stderr
