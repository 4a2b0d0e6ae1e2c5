"""Triton's Prometheus text (its metrics port) read into numbers, and the change between two reads.

The engine's counters (`pixel_engine_*`, `pipeline_lib/serving/engine_metrics.py`) are cumulative:
a benchmark point reads them before and after and keeps the difference, so the tokens the engine
generated during exactly that point are known without trusting any client-side count.
"""

from __future__ import annotations

import time
import urllib.request

Samples = dict[str, float]  # 'name{labels}' (labels as written) -> value


def parse(text: str) -> Samples:
    """Every sample line of a Prometheus text exposition; comments and blank lines skipped."""
    out: Samples = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            continue  # not a sample (a malformed line must not sink a long run)
    return out


def total(samples: Samples, name: str) -> float:
    """The sum of one metric over all its label sets (`name` exactly, not its _sum/_bucket kin)."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def delta(before: Samples, after: Samples, name: str) -> float:
    return total(after, name) - total(before, name)


def scrape(url: str, timeout_s: float = 10.0) -> Samples:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:  # noqa: S310 - loopback metrics port
        return parse(r.read().decode())


def settled(url: str, *, gauges: tuple[str, ...] = ("pixel_engine_active_slots",
                                                     "pixel_engine_waiting_requests"),
            timeout_s: float = 120.0, poll_s: float = 0.25) -> Samples:
    """A read taken once the engine holds no request (the gauges at 0) and the counters stood still
    for one poll: a point's last request may finish after perf_analyzer returned."""
    deadline = time.monotonic() + timeout_s
    last = scrape(url)
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        now = scrape(url)
        if all(total(now, g) == 0 for g in gauges) and now == last:
            return now
        last = now
    return last
