"""Keep a tritonserver healthy without an operator: find dead Python stubs, reload, restart.

Why: on Triton 2.51 a Python stub that dies is never restarted and its model stays "ready"
(stub_processes.py). Every `poll_interval_s` the supervisor compares the stubs running now with
those that ran when the server was last healthy (a /proc read, no request); every
`probe_interval_s` it also sends one tiny inference (model_probe.py) to catch a hung stub or a dead
server. Healing, in order, with exponential backoff between failed attempts:

1. reload (unload, then load) the models whose stubs died (Triton's model-control API; the
   server runs with --model-control-mode=explicit and only the admin key opens that API);
2. if that fails, or the server process died, or the probe keeps failing: restart the server;
3. after `max_heal_failures` failed attempts in a row, give up and return non-zero, so the
   container exits and Kubernetes (or whoever runs `pixel serve`) starts a new one.

Each step is one log line saying what happened.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline_lib.contract import admin_headers
from pipeline_lib.model_probe import probe_model
from pipeline_lib.server import http_ok
from pipeline_lib.stub_processes import Stub, dead_stubs, live_stubs

log = logging.getLogger(__name__)


class SupervisedServer(Protocol):
    process: object  # subprocess.Popen once started
    http_url: str  # host:port

    def start(self) -> object: ...

    def stop(self) -> int | None: ...


@dataclass(frozen=True)
class HealingPolicy:
    poll_interval_s: float = 1.0
    probe_interval_s: float = 15.0  # 0: no inference probe, stubs only
    probe_timeout_s: float = 10.0
    probe_model: str = "pixel"
    probe_failures_to_restart: int = 3  # consecutive failed probes before a restart
    reload_timeout_s: float = 120.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    max_heal_failures: int = 5


def _model_control(http_url: str, model: str, action: str, *, admin_key: str,
                   timeout_s: float) -> None:
    request = urllib.request.Request(
        f"http://{http_url}/v2/repository/models/{model}/{action}", data=b"{}", method="POST",
        headers={**admin_headers(admin_key), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (local)
        if response.status != 200:
            raise OSError(f"{action} {model} answered HTTP {response.status}")


def reload_model(http_url: str, model: str, *, admin_key: str, timeout_s: float) -> None:
    """Unload, then load: Triton 2.51 treats a load of a loaded model whose files did not change
    as a no-op (a dead stub stays dead), so only an unload makes it start new stubs."""
    _model_control(http_url, model, "unload", admin_key=admin_key, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    ready = f"http://{http_url}/v2/models/{model}/ready"
    while http_ok(ready, timeout_s=5):  # the unload answers before it is done
        if time.monotonic() > deadline:
            raise OSError(f"{model} still loaded {timeout_s:.0f} s after its unload")
        time.sleep(0.2)
    _model_control(http_url, model, "load", admin_key=admin_key, timeout_s=timeout_s)


class Supervisor:
    def __init__(self, server: SupervisedServer, *, admin_key: str,
                 policy: HealingPolicy | None = None, status_file: Path | None = None):
        self.server = server
        # Read by the container's health check: state, heals, and a heartbeat (`updated`).
        self.status_file = Path(status_file) if status_file else None
        self.admin_key = admin_key
        self.policy = policy or HealingPolicy()
        self.expected: dict[str, Stub] = {}
        self.state = "starting"  # watching | healing | gave_up
        self.heals = 0  # successful heals, for tests and the log
        self.last_heal_s: float | None = None  # seconds from detection to healthy, last heal
        self._probe_failures = 0
        self._next_probe = 0.0
        self._missing: set[str] = set()  # instances missing at the last poll

    def baseline(self) -> None:
        """Remember the stubs of a healthy server (call after start and after each heal)."""
        self.expected = live_stubs(self.server.process.pid)
        self._missing = set()
        self._probe_failures = 0
        self._next_probe = time.monotonic() + self.policy.probe_interval_s

    def problem(self) -> tuple[str, list[Stub]] | None:
        """(what is wrong, the dead stubs) or None when all is well."""
        if self.server.process.poll() is not None:
            return f"tritonserver exited with code {self.server.process.returncode}", []
        # Dead only when missing at two polls in a row: a reload (ours or an operator's) starts
        # the new stub a moment after the old one exits.
        missing = dead_stubs(self.expected, self.server.process.pid)
        dead = [stub for stub in missing if stub.instance in self._missing]
        self._missing = {stub.instance for stub in missing}
        if dead:
            names = ", ".join(f"{s.instance} (pid {s.pid})" for s in dead)
            return f"Python stub(s) died: {names}", dead
        if self.policy.probe_interval_s > 0 and time.monotonic() >= self._next_probe:
            self._next_probe = time.monotonic() + self.policy.probe_interval_s
            result = probe_model(self.server.http_url, self.policy.probe_model,
                                 timeout_s=self.policy.probe_timeout_s)
            self._probe_failures = 0 if result.ok else self._probe_failures + 1
            if self._probe_failures >= self.policy.probe_failures_to_restart:
                return f"{self._probe_failures} probes of {result.model} failed: {result.detail}", []
        return None

    def write_status(self, detail: str = "") -> None:
        if self.status_file is None:
            return
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"state": self.state, "heals": self.heals,
                                   "updated": time.time(), "detail": detail}))
        os.replace(tmp, self.status_file)

    def run(self, stop: threading.Event) -> int:
        """Supervise until `stop` is set (0) or healing failed too often (1)."""
        self.baseline()
        self.state = "watching"
        self.write_status()
        failures, backoff = 0, self.policy.backoff_initial_s
        while not stop.wait(self.policy.poll_interval_s):
            found = self.problem()
            if found is None:
                self.write_status()
                continue
            what, dead = found
            detected = time.monotonic()
            self.state = "healing"
            self.write_status(what)
            log.error("supervisor: %s; healing", what)
            while not stop.is_set():
                if self.heal(dead):
                    self.heals += 1
                    self.last_heal_s = time.monotonic() - detected
                    log.warning("supervisor: healthy again %.1f s after detection (heal #%d)",
                                self.last_heal_s, self.heals)
                    failures, backoff = 0, self.policy.backoff_initial_s
                    self.state = "watching"
                    self.write_status()
                    break
                failures += 1
                if failures >= self.policy.max_heal_failures:
                    log.critical("supervisor: %d heals failed in a row; giving up so the "
                                 "container (or pod) is restarted", failures)
                    self.state = "gave_up"
                    self.write_status(what)
                    return 1
                log.error("supervisor: heal attempt %d failed; next in %.0f s", failures, backoff)
                self.write_status(f"{what}; {failures} heal attempt(s) failed")
                stop.wait(backoff)
                backoff = min(backoff * 2, self.policy.backoff_max_s)
                dead = []  # a failed reload is followed by a restart
        return 0

    def run_in_background(self, stop: threading.Event) -> threading.Thread:
        """`run` on a daemon thread; returns once it watches (or has already ended)."""
        thread = threading.Thread(target=self.run, args=(stop,), daemon=True,
                                  name="pixel-supervisor")
        thread.start()
        while self.state != "watching" and thread.is_alive():
            time.sleep(0.1)
        return thread

    def heal(self, dead: list[Stub]) -> bool:
        if dead and self.server.process.poll() is None:
            models = sorted({s.model for s in dead})
            try:
                for model in models:
                    log.warning("supervisor: reloading model %s", model)
                    reload_model(self.server.http_url, model, admin_key=self.admin_key,
                                 timeout_s=self.policy.reload_timeout_s)
                if self._healthy_after_heal():
                    return True
                log.error("supervisor: reloaded %s but the server is still unhealthy", models)
            except (urllib.error.URLError, OSError) as exc:
                log.error("supervisor: reload of %s failed: %s", models, exc)
        return self._restart()

    def _restart(self) -> bool:
        log.warning("supervisor: restarting tritonserver")
        try:
            self.server.stop()
            self.server.start()
        except Exception as exc:  # noqa: BLE001 - a failed start is retried with backoff
            log.error("supervisor: restart failed: %s", exc)
            return False
        return self._healthy_after_heal()

    def _healthy_after_heal(self) -> bool:
        before = {name: stub.pid for name, stub in self.expected.items()}
        now = live_stubs(self.server.process.pid)
        if not set(before) <= set(now):
            return False
        if self.policy.probe_interval_s > 0:
            result = probe_model(self.server.http_url, self.policy.probe_model,
                                 timeout_s=self.policy.probe_timeout_s)
            if not result.ok:
                log.error("supervisor: probe after healing failed: %s", result.detail)
                return False
        self.baseline()
        return True
