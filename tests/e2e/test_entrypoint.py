"""containers/entrypoint.sh starts the real tritonserver (PyPI 2.51 build) with the production
flags under the healing supervisor: the model serves, the admin APIs (model control included)
answer only with the key, a killed stub is reloaded, and SIGTERM drains and exits cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline_lib.server import TritonServer, prepare_server_dir
from pipeline_lib.stub_processes import live_stubs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "test-admin-key-0123456789"
REPOSITORY: list[Path] = []  # the echo model's repository, set by the fixture
LOG_PATH: list[Path] = []  # the entrypoint's output (server and supervisor), set by the fixture
STATUS_PATH: list[Path] = []  # the supervisor's status file, set by the fixture

ECHO_CONFIG = """name: "echo"
backend: "python"
max_batch_size: 4
input [{ name: "IN" data_type: TYPE_FP32 dims: [2] }]
output [{ name: "OUT" data_type: TYPE_FP32 dims: [2] }]
instance_group [{ kind: KIND_CPU count: 1 }]
"""
ECHO_MODEL = """import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse(
            [pb_utils.Tensor("OUT", pb_utils.get_input_tensor_by_name(r, "IN").as_numpy())])
            for r in requests]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str, *, method: str = "GET", key: str | None = None) -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    if key:
        request.add_header("admin-key", key)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0  # not listening (yet)


@pytest.fixture(scope="module")
def entrypoint_server(tmp_path_factory):
    repository = tmp_path_factory.mktemp("echo-repository")
    (repository / "echo" / "1").mkdir(parents=True)
    (repository / "echo" / "config.pbtxt").write_text(ECHO_CONFIG)
    (repository / "echo" / "1" / "model.py").write_text(ECHO_MODEL)
    REPOSITORY[:] = [repository]
    server_dir = prepare_server_dir()
    http, grpc, metrics = free_port(), free_port(), free_port()
    env = TritonServer(repository=repository, models=["echo"]).environment(server_dir)
    LOG_PATH[:] = [tmp_path_factory.mktemp("logs") / "entrypoint.log"]
    STATUS_PATH[:] = [LOG_PATH[0].parent / "supervisor.json"]
    # Supervised as in the container; the echo model is no `pixel`: watch the stubs, no probe.
    env.update(PIXEL_MODEL_REPOSITORY=str(repository), TRITON_ADMIN_KEY=ADMIN_KEY,
               PIXEL_PROBE_INTERVAL_S="0", PIXEL_SUPERVISOR_STATUS=str(STATUS_PATH[0]),
               TRITON_EXIT_TIMEOUT_SECS="10", TRITON_SERVER_BIN=str(server_dir / "bin" / "tritonserver"))
    log = LOG_PATH[0].open("wb")
    # The PyPI build needs its backend folder; later flags override the entrypoint's ports.
    process = subprocess.Popen(
        ["bash", str(REPO / "containers" / "entrypoint.sh"), f"--backend-directory={server_dir / 'backends'}",
         "--http-address=127.0.0.1", f"--http-port={http}", "--grpc-address=127.0.0.1",
         f"--grpc-port={grpc}", "--metrics-address=127.0.0.1", f"--metrics-port={metrics}",
         "--allow-gpu-metrics=false"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{http}"
    for _ in range(240):
        if process.poll() is not None:
            pytest.fail(f"entrypoint exited with {process.returncode}: see {log.name}")
        # Ready, and the supervisor watching (it writes its status once the server is up).
        if status(f"{base}/v2/models/echo/ready") == 200 and STATUS_PATH[0].exists():
            break
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"echo never became ready: see {log.name}")
    yield base, process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("mode", ["readiness", "liveness"])
def test_health_check_passes_on_the_entrypoint_server(entrypoint_server, mode):
    base, _ = entrypoint_server
    result = subprocess.run([sys.executable, str(REPO / "containers" / "healthcheck.py"), "--url", base,
                             "--mode", mode, "--model", "echo", "--probe-model", "",
                             "--status-file", str(STATUS_PATH[0])],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "supervisor watching" in result.stderr  # the supervisor's heartbeat was read


def test_admin_apis_need_the_key(entrypoint_server):
    base, _ = entrypoint_server
    assert status(f"{base}/v2/models/stats") == 403
    assert status(f"{base}/v2/models/stats", key="wrong-key-wrong-key") == 403
    assert status(f"{base}/v2/models/stats", key=ADMIN_KEY) == 200
    assert status(f"{base}/v2/models/echo/ready") == 200  # inference-side APIs stay open


def test_model_loading_needs_the_key(entrypoint_server):
    base, _ = entrypoint_server
    assert status(f"{base}/v2/repository/models/echo/load", method="POST") == 403
    # With the key (the supervisor's), a reload goes through: model-control-mode=explicit.
    assert status(f"{base}/v2/repository/models/echo/load", method="POST", key=ADMIN_KEY) == 200


def test_an_operators_reload_is_not_taken_for_a_dead_stub(entrypoint_server):
    base, process = entrypoint_server
    heals_before = _wait_until_watching(process)["heals"]
    server_pid = next(pid for pid in _children(process.pid) if _name(pid) == "tritonserver")
    old = {stub.pid for stub in live_stubs(server_pid).values()}
    later = time.time() + 5
    # Triton 2.51 reloads only a model whose version folder changed (else a load is a no-op).
    os.utime(REPOSITORY[0] / "echo" / "1" / "model.py", (later, later))
    assert status(f"{base}/v2/repository/models/echo/load", method="POST", key=ADMIN_KEY) == 200
    assert {stub.pid for stub in live_stubs(server_pid).values()}.isdisjoint(old)  # new stubs
    time.sleep(3)  # three of the supervisor's polls
    assert _wait_until_watching(process)["heals"] == heals_before


def test_a_killed_stub_is_healed_by_the_entrypoint_supervisor(entrypoint_server):
    base, process = entrypoint_server
    server_pid = next(pid for pid in _children(process.pid) if _name(pid) == "tritonserver")
    log = LOG_PATH[0]
    # Earlier tests reload echo (a stub replaced, not dead): judge only what comes after this.
    heals_before = _wait_until_watching(process)["heals"]
    log_start = log.stat().st_size
    for stub in live_stubs(server_pid).values():
        os.kill(stub.pid, signal.SIGKILL)
    assert _wait_until_watching(process, heals=heals_before + 1)["heals"] == heals_before + 1
    healing = log.read_bytes()[log_start:].decode(errors="replace")
    assert "reloading model echo" in healing and "healthy again" in healing
    assert "restarting tritonserver" not in healing, f"the reload did not heal: see {log}"
    assert live_stubs(server_pid), "echo has no stub after healing"  # the same server, new stub
    body = json.dumps({"inputs": [{"name": "IN", "shape": [1, 2], "datatype": "FP32",
                                   "data": [1.5, 2.5]}]}).encode()
    request = urllib.request.Request(f"{base}/v2/models/echo/infer", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["outputs"][0]["data"] == [1.5, 2.5]


def test_sigterm_drains_and_exits_cleanly(entrypoint_server):
    _, process = entrypoint_server
    process.send_signal(signal.SIGTERM)  # the supervisor (PID 1 in the container) stops Triton
    assert process.wait(timeout=60) == 0


def _wait_until_watching(process: subprocess.Popen, *, heals: int = 0) -> dict:
    """The supervisor's status once it watches with at least `heals` heals done (the limit is a
    guard against a hang, not a speed assertion)."""
    deadline = time.monotonic() + 180
    while ((status := json.loads(STATUS_PATH[0].read_text()))["state"] != "watching"
           or status["heals"] < heals):
        assert process.poll() is None, f"the supervisor exited: see {LOG_PATH[0]}"
        assert time.monotonic() < deadline, f"the supervisor did not heal echo: see {LOG_PATH[0]}"
        time.sleep(0.5)
    return status


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""
