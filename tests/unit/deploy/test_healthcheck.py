"""containers/healthcheck.py's reading of the supervisor's status file (the HTTP side runs in
tests/e2e/test_entrypoint.py against a real server)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

HEALTHCHECK = Path(__file__).resolve().parents[3] / "containers" / "healthcheck.py"


@pytest.fixture(scope="module")
def healthcheck():
    spec = importlib.util.spec_from_file_location("container_healthcheck", HEALTHCHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, state: str, age_s: float = 0.0) -> Path:
    path.write_text(json.dumps({"state": state, "heals": 1, "updated": time.time() - age_s,
                                "detail": "Python stub(s) died: pixel_lm_0_0 (pid 1)"}))
    return path


@pytest.mark.parametrize(("state", "age_s", "need_watching", "ok"), [
    ("watching", 0, True, True),
    ("healing", 0, True, False),  # readiness: no traffic while a model reloads
    ("healing", 0, False, True),  # liveness: healing is progress, not a reason to restart
    ("gave_up", 0, False, False),
    ("watching", 120, False, False),  # a silent supervisor is hung
])
def test_supervisor_state_decides(healthcheck, tmp_path, state, age_s, need_watching, ok):
    path = write(tmp_path / "status.json", state, age_s)
    result, reason = healthcheck.supervisor_status(path, stale_after_s=60,
                                                   need_watching=need_watching)
    assert result is ok, reason


def test_no_status_file_means_unsupervised(healthcheck, tmp_path):
    ok, reason = healthcheck.supervisor_status(tmp_path / "absent.json", stale_after_s=60,
                                               need_watching=True)
    assert ok and "unsupervised" in reason


def test_readiness_fails_while_healing_without_asking_the_server(healthcheck, tmp_path, capsys):
    path = write(tmp_path / "status.json", "healing")
    code = healthcheck.main(["--url", "http://127.0.0.1:9", "--status-file", str(path)])
    assert code == 1
    assert "supervisor healing" in capsys.readouterr().err
