"""Run a given tritonserver command line under the healing supervisor (the container's PID 1).

`containers/entrypoint.sh` builds the production flags and execs
`python3 -m pipeline_lib.supervised_command --http-url 127.0.0.1:8000 -- tritonserver ...`;
the admin key comes from TRITON_ADMIN_KEY (the entrypoint exports the one it put in the flags).
SIGTERM stops the server (Triton drains in-flight requests) and exits 0; when healing fails too
often it exits 1, so the container (Kubernetes: the pod) is restarted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from pipeline_lib.supervisor import HealingPolicy, Supervisor

log = logging.getLogger(__name__)


class CommandServer:
    """A tritonserver started from a ready-made command; "up" means /v2/health/ready is 200
    (the entrypoint runs with --strict-readiness, so that is every model)."""

    def __init__(self, command: Sequence[str], *, http_url: str, startup_timeout_s: float,
                 exit_timeout_s: float):
        self.command = list(command)
        self.http_url = http_url
        self.startup_timeout_s = startup_timeout_s
        self.exit_timeout_s = exit_timeout_s
        self.process: subprocess.Popen | None = None

    def start(self) -> CommandServer:
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OSError(f"tritonserver exited with code {self.process.returncode} while "
                              "starting (see its log above)")
            try:
                with urllib.request.urlopen(f"http://{self.http_url}/v2/health/ready",
                                            timeout=2) as response:  # noqa: S310 (local)
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise OSError(f"tritonserver not ready after {self.startup_timeout_s:.0f} s")

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)  # Triton drains, then exits
        try:
            return self.process.wait(timeout=self.exit_timeout_s + 15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http-url", default="127.0.0.1:8000", help="tritonserver's HTTP host:port")
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--exit-timeout", type=float, default=30.0)
    parser.add_argument("--probe-interval", type=float, default=HealingPolicy.probe_interval_s,
                        help="seconds between tiny inference probes (0: watch the stubs only)")
    parser.add_argument("--probe-model", default=HealingPolicy.probe_model,
                        help="the unary model the probe asks for one token")
    parser.add_argument("--status-file", type=Path, default=Path("/tmp/pixel-supervisor.json"),
                        help="where the supervisor writes its state for the health check")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- tritonserver and its flags")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the server command after --")
    admin_key = os.environ.get("TRITON_ADMIN_KEY", "")
    if not admin_key:
        parser.error("TRITON_ADMIN_KEY must hold the admin key given to tritonserver")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = CommandServer(command, http_url=args.http_url,
                           startup_timeout_s=args.startup_timeout, exit_timeout_s=args.exit_timeout)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        server.start()
    except OSError as exc:
        log.critical("%s", exc)
        server.stop()
        return 1
    supervisor = Supervisor(server, admin_key=admin_key,
                            policy=HealingPolicy(probe_interval_s=args.probe_interval,
                                                probe_model=args.probe_model),
                            status_file=args.status_file)
    code = supervisor.run(stop)
    exit_code = server.stop()
    return code if code else (exit_code or 0)  # 1: healing gave up; else how the server stopped


if __name__ == "__main__":
    sys.exit(main())
