#!/usr/bin/env python3
"""Container health check: exit 0 when the Pixel ensemble is ready, 1 otherwise.

Model readiness, not server health: a Python-backend stub that dies is not restarted, and then
`/v2/models/<model>/ready` answers 400 while `/v2/health/live` stays 200. Standard library only, so
it runs in the image's python3 without importing the package (fast, and it works while the package's
imports would be the thing that is broken).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request


def model_ready(base_url: str, model: str, timeout_s: float) -> tuple[bool, str]:
    """Ask Triton whether `model` is ready; return (ready, a short reason for the log)."""
    url = f"{base_url.rstrip('/')}/v2/models/{model}/ready"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (local URL)
            return response.status == 200, f"{url} -> {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} -> {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return False, f"{url} unreachable: {exc}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Triton HTTP base URL")
    parser.add_argument(
        "--model",
        action="append",
        help="model that must be ready (repeatable; default: the ensemble 'pixel')",
    )
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds per request")
    args = parser.parse_args(argv)
    healthy = True
    for model in args.model or ["pixel"]:
        ready, reason = model_ready(args.url, model, args.timeout)
        healthy &= ready
        sys.stderr.write(("ready: " if ready else "NOT ready: ") + reason + "\n")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
