"""Time to healthy after a SIGKILLed Python stub, per model, on this machine.

Starts one server (the e2e settings) under the supervisor, SIGKILLs one stub at a time and
measures (a) kill -> the supervisor notices, (b) kill -> the probe answers again. Writes
benchmarks/results/time_to_healthy.json. About 3 minutes on two CPU cores.

    PYTHONPATH=. python -m benchmarks.time_to_healthy [--models pixel_lm tokenizer]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import threading
import time
from pathlib import Path

from pipeline_lib.model_probe import probe_model
from pipeline_lib.serving_stack import server_from_overrides
from pipeline_lib.stub_processes import live_stubs
from pipeline_lib.supervisor import HealingPolicy, Supervisor

RESULTS = Path(__file__).parent / "results" / "time_to_healthy.json"
OVERRIDES = ["profile=development", "lm.max_new_tokens=48"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(server, supervisor, model: str) -> dict:
    heals = supervisor.heals
    stub = next(s for s in live_stubs(server.process.pid).values() if s.model == model)
    killed = time.monotonic()
    os.kill(stub.pid, signal.SIGKILL)
    while supervisor.state != "healing" and supervisor.heals == heals:
        time.sleep(0.05)
    detected = time.monotonic() - killed
    while supervisor.heals == heals:
        time.sleep(0.1)
    while not probe_model(server.http_url, timeout_s=10).ok:
        time.sleep(0.2)
    return {"model": model, "detected_s": round(detected, 2),
            "healthy_s": round(time.monotonic() - killed, 1),
            "supervisor_heal_s": round(supervisor.last_heal_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pixel_lm", "tokenizer", "pixel"])
    args = parser.parse_args()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"time-to-healthy-{os.getpid()}"
    server = server_from_overrides(
        OVERRIDES, repository=work / "repository", http_port=free_port(),
        grpc_port=free_port(), metrics_port=free_port(), log_file=work / "tritonserver.log",
        exit_timeout_s=3)
    server.start()
    stop = threading.Event()
    supervisor = Supervisor(server, admin_key=server.admin_key,
                            policy=HealingPolicy(poll_interval_s=1.0, probe_interval_s=15.0))
    thread = supervisor.run_in_background(stop)
    try:
        rows = [measure(server, supervisor, model) for model in args.models]
    finally:
        stop.set()
        thread.join(timeout=120)
        server.stop()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
              "poll_interval_s": 1.0, "overrides": OVERRIDES, "kills": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 -- a benchmark script's report


if __name__ == "__main__":
    main()
