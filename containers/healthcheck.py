#!/usr/bin/env python3
"""Container health check: exit 0 when Pixel can really answer (readiness) or is alive (liveness).

Why not model readiness alone: on Triton 2.51 a Python stub that dies leaves
`/v2/models/<model>/ready` at 200 while every request fails. So readiness also asks the
supervisor (its status file says "healing" while it reloads a model) and sends one tiny real
inference (pipeline_lib.model_probe). Liveness is the server's /v2/health/live plus a fresh
supervisor heartbeat: a supervisor that gave up exits (and the container with it); one that
hangs stops writing. Imports only pipeline_lib's standard-library modules (fast; works while the
package's heavy imports would be the thing that is broken).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, "/opt/pixel/src")  # the image's editable checkout (no effect elsewhere)
from pipeline_lib.model_probe import probe_model  # noqa: E402 (after the path)


def http_ok(url: str, timeout_s: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (local URL)
            return response.status == 200, f"{url} -> {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} -> {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return False, f"{url} unreachable: {exc}"


def model_ready(base_url: str, model: str, timeout_s: float) -> tuple[bool, str]:
    """Ask Triton whether `model` is ready; return (ready, a short reason for the log)."""
    return http_ok(f"{base_url.rstrip('/')}/v2/models/{model}/ready", timeout_s)


def supervisor_status(path: Path, *, stale_after_s: float, need_watching: bool) -> tuple[bool, str]:
    """(ok, reason) from the supervisor's status file; a missing file is fine (unsupervised)."""
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        return True, f"no supervisor status at {path} (unsupervised)"
    except (OSError, ValueError) as exc:
        return False, f"supervisor status {path} unreadable: {exc}"
    age = time.time() - float(status.get("updated", 0))
    state = status.get("state", "?")
    if age > stale_after_s:
        return False, f"supervisor silent for {age:.0f} s (state {state})"
    if state == "gave_up" or (need_watching and state != "watching"):
        return False, f"supervisor {state}: {status.get('detail', '')}"
    return True, f"supervisor {state} ({status.get('heals', 0)} heal(s))"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("readiness", "liveness"), default="readiness")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Triton HTTP base URL")
    parser.add_argument("--model", action="append",
                        help="model that must be ready (repeatable; default: the ensemble 'pixel')")
    parser.add_argument("--probe-model", default="pixel",
                        help="unary model asked for one token (readiness); '' for none")
    parser.add_argument("--status-file", type=Path, default=Path("/tmp/pixel-supervisor.json"))
    parser.add_argument("--stale-after", type=float, default=60.0,
                        help="seconds without a supervisor heartbeat that count as hung")
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds per request")
    args = parser.parse_args(argv)
    need_watching = args.mode == "readiness"
    checks = [supervisor_status(args.status_file, stale_after_s=args.stale_after,
                                need_watching=need_watching)]
    if args.mode == "liveness":
        checks.append(http_ok(f"{args.url.rstrip('/')}/v2/health/live", args.timeout))
    else:
        checks += [model_ready(args.url, model, args.timeout) for model in args.model or ["pixel"]]
        if args.probe_model and all(ok for ok, _ in checks):
            result = probe_model(args.url, args.probe_model, timeout_s=args.timeout)
            checks.append((result.ok, f"probe {result.model}: {result.detail}"))
    for ok, reason in checks:
        sys.stderr.write(("ok: " if ok else "FAILED: ") + reason + "\n")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
