"""CPU time of another process, by thread, in nanoseconds from /proc (Linux).

psutil's user + system times tick at 10 ms: too coarse for the gateway's few milliseconds per
request over a short run. /proc/PID/task/TID/schedstat holds each thread's on-CPU time in ns.
"""

from __future__ import annotations

from pathlib import Path


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds by thread name (threads of one name summed). For the gateway: the event loop
    is the main thread (`python`); gRPC's C core works on threads of its own (`event_engine`,
    ...), which cProfile does not see. A thread that ended is no longer counted."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            on_cpu_ns = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
        out[name] = out.get(name, 0.0) + on_cpu_ns / 1e9
    return out


def cpu_s(pid: int) -> float:
    return sum(thread_cpu_s(pid).values())
