"""CPU per request of each process of a serving stack under a closed loop of unary `pixel` calls.

Every Python-backend model is a process of its own (a stub) beside tritonserver, and on a 2-core
machine they all share the same cores: a model that burns CPU without doing work (OpenMP threads
spin-waiting, say) slows the LM as surely as one that computes. Wall-clock figures do not say
which process it is; the on-CPU time of each process's threads (/proc) over a fixed number of
requests does. This is how `scoring.cpu_threads` was found (docs/engine.md).

One tritonserver (engine by default, production-like `profile=performance`, extra Hydra overrides
after the options), the committed messages (replies up to --max-new-tokens), a warm-up point, then
perf_analyzer at --concurrency with three count windows of --requests each.

    python -m benchmarks.cpu_by_model [--concurrency 16] [--requests 16] [OVERRIDE ...]
    python -m benchmarks.cpu_by_model scoring.cpu_threads=2   # the setting before the fix
    python -m benchmarks.cpu_by_model lm=python lm.max_new_tokens=64 lm.artifact_dir=DIR  # run to completion
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import perf_analyzer as pa
from benchmarks.engine_bench import build
from benchmarks.engine_points import engine_data
from benchmarks.inputs import MESSAGES, load_messages
from benchmarks.process_cpu import cpu_s
from pipeline_lib.contract import ADMIN_KEY_ENV
from pipeline_lib.stub_processes import live_stubs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.cpu_by_model",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--requests", type=int, default=16, help="requests per count window (default 16)")
    p.add_argument("--max-new-tokens", type=int, default=64,
                   help="the engine's reply budget (default 64; run to completion: its export's)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides after `lm=engine profile=performance` "
                   "(an `lm=` override replaces the engine)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    os.environ.setdefault(ADMIN_KEY_ENV, secrets.token_urlsafe(24))  # the profile locks admin APIs
    work = Path(tempfile.mkdtemp(prefix="pixel-cpu-"))
    runtime = [] if any(o.startswith("lm=") for o in args.overrides) else ["lm=engine"]
    overrides = [*runtime, "profile=performance", *args.overrides]
    server = build(overrides, work)
    binary = pa.find_perf_analyzer()
    # run to completion takes its budget from its export, not from the request
    data = (engine_data(work / "messages.json", load_messages(), args.max_new_tokens) if runtime
            else MESSAGES)
    with console.status(f"starting tritonserver ({' '.join(overrides)})…"):
        server.start()
        server.wait_ready()
    try:
        pid = server.process.pid
        processes = {pid: "tritonserver", **{s.pid: s.model for s in live_stubs(pid).values()}}
        with console.status("warm-up point…"):
            pa.measure(binary, model="pixel", url=server.grpc_url, input_data=data,
                       concurrency=args.concurrency, window=pa.Window(requests=4),
                       csv_path=work / "warm-up.csv")
        before = {pid: cpu_s(pid) for pid in processes}
        started = time.perf_counter()
        with console.status(f"perf_analyzer: pixel at concurrency {args.concurrency}…"):
            r = pa.measure(binary, model="pixel", url=server.grpc_url, input_data=data,
                           concurrency=args.concurrency, window=pa.Window(requests=args.requests),
                           csv_path=work / "point.csv")
        wall = time.perf_counter() - started
        used = {pid: cpu_s(pid) - before[pid] for pid in processes}
    finally:
        server.stop()
    n = max(r["requests"], 1)
    table = Table(title=f"`pixel` at concurrency {args.concurrency}: {r['throughput_rps']:.2f} req/s, "
                        f"{r['requests']} requests in {wall:.0f} s ({' '.join(overrides)})")
    for column in ("process", "CPU s", "CPU ms per request", "share"):
        table.add_column(column, justify="left" if column == "process" else "right")
    total = sum(used.values())
    for pid, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
        table.add_row(processes[pid], f"{seconds:.1f}", f"{seconds / n * 1e3:.0f}",
                      f"{seconds / total:.0%}" if total else "-")
    table.add_row("all", f"{total:.1f}", f"{total / n * 1e3:.0f}", f"{total / wall:.2f} cores")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
