"""Gateway overhead over direct gRPC, measured side by side in one run (issue 17, item 7).

One tritonserver (the engine, development profile, short replies) and one `pixel gateway` in a
subprocess of its own. At each concurrency the same unary requests go alternately (in rounds)
straight to Triton through PixelClient over gRPC and through the gateway with the `openai` SDK.
Two views of the overhead:
- unpaired: gateway p50 - direct p50 and throughput ratio (the issue's targets: added p50 <= 5 ms,
  throughput >= 0.95x at the engine's peak concurrency, 8 in benchmarks/results/engine/);
- paired: per gateway request, SDK latency - the latency the gateway's own client measured for the
  same request (`pixel.latency_ms`): HTTP, JSON and the event loop alone, without the noise of
  generation times. Results: benchmarks/results/gateway/ (summary.md, points.csv).

    python -m benchmarks.gateway_bench [--quick] [--concurrency 1 8]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from benchmarks.process_cpu import cpu_s

RESULTS = Path(__file__).resolve().parent / "results" / "gateway"
MESSAGES = ["I can't sleep before exams.", "Work has been overwhelming lately.",
            "How do I tell a friend I'm struggling?", "What helps with a racing mind at night?"]
MAX_TOKENS = 16
TARGET_ADDED_P50_MS = 5.0
TARGET_THROUGHPUT = 0.95


@dataclass
class Point:
    path: str  # direct | gateway
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    inner_ms: list[float] = field(default_factory=list)  # gateway only: its client's latency
    server_ms: list[float] = field(default_factory=list)  # Triton's inference_time_ms
    wall_s: float = 0.0
    gateway_cpu_s: float = 0.0  # the gateway process's CPU over this point (both paths)
    load_average: float = 0.0  # 1-minute load average at the end of the point

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(points: list[Point]) -> list[dict]:
    """One row per concurrency: both paths' p50 and req/s, added p50, ratio, paired overhead."""
    rows = []
    for c in sorted({p.concurrency for p in points}):
        direct = [p for p in points if p.concurrency == c and p.path == "direct"]
        gateway = [p for p in points if p.concurrency == c and p.path == "gateway"]
        d_lat = [x for p in direct for x in p.latencies_ms]
        g_lat = [x for p in gateway for x in p.latencies_ms]
        d_rps = sum(len(p.latencies_ms) for p in direct) / sum(p.wall_s for p in direct)
        g_rps = sum(len(p.latencies_ms) for p in gateway) / sum(p.wall_s for p in gateway)
        paired = [x - y for p in gateway for x, y in zip(p.latencies_ms, p.inner_ms, strict=True)]
        # The gateway's CPU while it served (its points) and while it sat idle (the direct
        # points): the difference per request is its own cost, the share that competes with
        # tritonserver for the cores.
        g_cpu_ms = sum(p.gateway_cpu_s for p in gateway) * 1000.0 / max(len(g_lat), 1)
        idle_ms_per_s = (sum(p.gateway_cpu_s for p in direct) * 1000.0
                         / max(sum(p.wall_s for p in direct), 1e-9))
        rows.append({
            "concurrency": c, "requests_each": len(d_lat),
            "direct_p50_ms": p50(d_lat), "gateway_p50_ms": p50(g_lat),
            "direct_server_p50_ms": p50([x for p in direct for x in p.server_ms]),
            "gateway_server_p50_ms": p50([x for p in gateway for x in p.server_ms]),
            "added_p50_ms": p50(g_lat) - p50(d_lat),
            "direct_rps": d_rps, "gateway_rps": g_rps, "throughput_ratio": g_rps / d_rps,
            "paired_overhead_p50_ms": p50(paired),
            "paired_overhead_p95_ms": statistics.quantiles(paired, n=20)[-1]
            if len(paired) >= 2 else float("nan"),
            "gateway_cpu_ms_per_request": g_cpu_ms,
            "gateway_idle_cpu_ms_per_s": idle_ms_per_s,
            "load_average_1m": max((p.load_average for p in direct + gateway), default=0.0),
        })
    return rows


async def run_point(path: str, concurrency: int, count: int, call,
                    gateway_pid: int | None = None) -> Point:
    point = Point(path, concurrency)
    cpu_before = cpu_s(gateway_pid) if gateway_pid else 0.0
    queue = list(range(count))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            started = time.perf_counter()
            inner, server = await call(MESSAGES[i % len(MESSAGES)])
            point.latencies_ms.append((time.perf_counter() - started) * 1000.0)
            point.server_ms.append(server)
            if inner is not None:
                point.inner_ms.append(inner)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    point.wall_s = time.perf_counter() - started
    point.gateway_cpu_s = cpu_s(gateway_pid) - cpu_before if gateway_pid else 0.0
    point.load_average = os.getloadavg()[0]
    return point


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(grpc_url: str, port: int, extra_args: list[str] | None = None,
                  profile: Path | None = None, pythonpath: Path | None = None
                  ) -> subprocess.Popen:
    """`pixel gateway` in a subprocess, ready (under cProfile, stats to `profile`, if given).
    Its stderr is drained by a thread into a short tail (`process.stderr_tail`): an undrained
    pipe fills (64 KiB of logs) and stalls the gateway mid-run. `pythonpath`: run another
    checkout's gateway (a baseline) instead of this one's."""
    code = "import sys; from pipeline_lib.cli import main; sys.exit(main(sys.argv[1:]))"
    if profile is not None:
        # The event loop runs on the main thread, so cProfile sees the requests. uvicorn re-raises
        # the SIGTERM it caught once it has shut down: a handler of ours turns it into SystemExit
        # so that the stats are written.
        code = "\n".join([
            "import cProfile, signal, sys", "from pipeline_lib.cli import main",
            "def stop(*_): raise SystemExit(0)", "signal.signal(signal.SIGTERM, stop)",
            "profiler = cProfile.Profile()", "profiler.enable()",
            "try: main(sys.argv[1:])", f"finally: profiler.disable(); profiler.dump_stats({str(profile)!r})"])
    process = subprocess.Popen(
        [sys.executable, "-c", code, "gateway", "--port", str(port),
         "--triton-url", grpc_url, "--no-record", "client.cache.backend=none",
         "gateway.rate_limit.burst=100000", "gateway.rate_limit.requests_per_minute=1000000",
         f"gateway.keys.file={tempfile.mktemp()}", *(extra_args or [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=None if pythonpath is None else {**os.environ, "PYTHONPATH": str(pythonpath)},
        cwd=pythonpath)
    process.stderr_tail = collections.deque(maxlen=40)
    threading.Thread(target=lambda: process.stderr_tail.extend(process.stderr),
                     name="gateway-stderr", daemon=True).start()
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5):
                return process
        except OSError:
            if process.poll() is not None:
                time.sleep(0.2)  # let the drain thread read the last lines
                raise RuntimeError("the gateway exited: " + "".join(process.stderr_tail))
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the gateway did not become ready")


async def measure(grpc_url: str, gateway_url: str, concurrencies: list[int], rounds: int,
                  per_round: int, gateway_pid: int | None = None) -> list[Point]:
    import openai

    from pipeline_lib.composition import load_app_config, open_client

    config = load_app_config([f"client.grpc_url={grpc_url}", "client.cache.backend=none",
                              "client.timeout_s=600"])
    sdk = openai.AsyncOpenAI(base_url=gateway_url + "/v1", api_key="unused", max_retries=0,
                             timeout=600)
    async with open_client(config, record=False) as client:
        async def direct(text: str):
            result = await client.infer(text, f"bench-{uuid.uuid4().hex}",
                                        max_new_tokens=MAX_TOKENS)
            return None, result.server_time_ms

        async def gateway(text: str):
            reply = await sdk.chat.completions.create(
                model="pixel", messages=[{"role": "user", "content": text}],
                max_tokens=MAX_TOKENS, user=f"bench-{uuid.uuid4().hex}")
            return reply.pixel["latency_ms"], reply.pixel["inference_time_ms"]

        await run_point("direct", 2, 2, direct)  # warm-up: connections, prefix cache
        await run_point("gateway", 2, 2, gateway)
        points = []
        for c in concurrencies:
            count = max(per_round, 3 * c)
            for r in range(rounds):
                order = [("direct", direct), ("gateway", gateway)]
                for path, call in (order if r % 2 == 0 else order[::-1]):
                    points.append(await run_point(path, c, count, call, gateway_pid))
                    print(f"  c={c} round {r + 1} {path}: p50 {p50(points[-1].latencies_ms):.0f} "
                          f"ms, {points[-1].rps:.2f} req/s", flush=True)
    return points


def write_results(rows: list[dict], out: Path, args) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "points.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    peak = rows[-1]
    added_ok = peak["added_p50_ms"] <= TARGET_ADDED_P50_MS
    paired_ok = peak["paired_overhead_p50_ms"] <= TARGET_ADDED_P50_MS
    ratio_ok = peak["throughput_ratio"] >= TARGET_THROUGHPUT
    server_gap = peak["gateway_server_p50_ms"] - peak["direct_server_p50_ms"]
    lines = [
        f"# Gateway overhead over direct gRPC, CPU run of {date.today().isoformat()}",
        "",
        f"`python -m benchmarks.gateway_bench {' '.join(sys.argv[1:])}`: one tritonserver "
        f"(engine, development profile, replies of at most {MAX_TOKENS} tokens) and `pixel "
        "gateway` in its own process; unary requests alternately straight to Triton "
        "(PixelClient, gRPC) and through the gateway (openai SDK, HTTP), in "
        f"{args.rounds} rounds per concurrency, order swapped each round. Shared 2-core CPU; "
        + (f"tritonserver and its model processes at nice {args.triton_nice} (standing in for "
           "the gateway's own CPU in a deployment)." if args.triton_nice > 0 else
           "tritonserver at the gateway's priority."),
        "",
        "## Targets (at the highest concurrency measured)",
        "",
        "| target | measured | bound | verdict |",
        "|---|---:|---:|---|",
        f"| added p50 (gateway - direct) | {peak['added_p50_ms']:.1f} ms | <= "
        f"{TARGET_ADDED_P50_MS:.0f} ms | **{'PASS' if added_ok else 'FAIL'}** |",
        f"| added p50, paired (SDK latency - the gateway's client latency, same request) | "
        f"{peak['paired_overhead_p50_ms']:.1f} ms | <= {TARGET_ADDED_P50_MS:.0f} ms | "
        f"**{'PASS' if paired_ok else 'FAIL'}** |",
        f"| throughput, gateway / direct | {peak['throughput_ratio']:.3f} | >= "
        f"{TARGET_THROUGHPUT} | **{'PASS' if ratio_ok else 'FAIL'}** |",
        "",
        f"Gateway CPU per request at this point: {peak['gateway_cpu_ms_per_request']:.2f} ms "
        f"(idle: {peak['gateway_idle_cpu_ms_per_s']:.1f} ms per second); 1-minute load average "
        f"up to {peak['load_average_1m']:.2f} on {os.cpu_count()} cores.",
        "",
        f"Triton's own p50 differed by {server_gap:+.1f} ms between the two paths' requests at "
        f"this point (the unpaired added p50 is {peak['added_p50_ms']:+.1f} ms): on a shared "
        "2-core machine the unpaired figures measure the server's spread; the paired overhead "
        "is the gateway's own cost.",
        "",
        "## Points",
        "",
        "| concurrency | requests each | direct p50 ms | gateway p50 ms | added p50 ms | Triton "
        "p50 ms direct / gateway | direct req/s | gateway req/s | ratio | paired overhead p50 / "
        "p95 ms | gateway CPU ms/request | load average |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['requests_each']} | {r['direct_p50_ms']:.0f} | "
            f"{r['gateway_p50_ms']:.0f} | {r['added_p50_ms']:.1f} | "
            f"{r['direct_server_p50_ms']:.0f} / {r['gateway_server_p50_ms']:.0f} | "
            f"{r['direct_rps']:.3f} | "
            f"{r['gateway_rps']:.3f} | {r['throughput_ratio']:.3f} | "
            f"{r['paired_overhead_p50_ms']:.1f} / {r['paired_overhead_p95_ms']:.1f} | "
            f"{r['gateway_cpu_ms_per_request']:.2f} | {r['load_average_1m']:.2f} |")
    lines += ["", "**Triton p50**: the server's own `inference_time_ms` for the requests of each "
              "path: where it differs as much as the end-to-end p50, the difference is the "
              "server's (load on the shared CPU), not the gateway's.", "",
              "**paired overhead**: per gateway request, the SDK's latency minus the latency "
              "the gateway's own PixelClient measured for that request (`pixel.latency_ms`): "
              "HTTP, JSON, routing and the event loop, free of the spread of generation times "
              "that dominates the unpaired p50 difference on this machine.", ""]
    (out / "summary.md").write_text("\n".join(lines))


def rows_from_csv(path: Path) -> list[dict]:
    with open(path) as f:
        return [{k: float(v) if "." in v or k != "concurrency" else int(v) for k, v in r.items()}
                for r in csv.DictReader(f)]


def renice_tree(pid: int, niceness: int) -> int:
    """Set `niceness` on a process and its descendants (Triton's model stubs); -> how many."""
    import psutil

    if niceness <= 0:
        return 0
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        process.nice(niceness)
    return len(processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-round", type=int, default=8, help="requests per path per round "
                        "(at least 3 x concurrency)")
    parser.add_argument("--quick", action="store_true", help="one round of 4 requests")
    parser.add_argument("--triton-nice", type=int, default=0, help="niceness of tritonserver and its "
                        "model processes (default 0: the gateway's priority). A deployment "
                        "gives the gateway its own CPU (its own pod); on one small host this stands "
                        "in for that, so the figure is the gateway's work, not its wait for a core "
                        "the LM holds. Both paths call the same reniced Triton.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.per_round = 1, 4
    from pipeline_lib.serving_stack import server_from_overrides

    folder = Path(tempfile.mkdtemp(prefix="pixel-gateway-bench-"))
    server = server_from_overrides(
        ["profile=development", f"lm.max_new_tokens={MAX_TOKENS}"], repository=folder / "repo",
        http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
        log_file=folder / "tritonserver.log")
    server.start()
    gateway = None
    try:
        renice_tree(server.process.pid, args.triton_nice)
        port = free_port()
        gateway = start_gateway(server.grpc_url, port)
        points = asyncio.run(measure(server.grpc_url, f"http://127.0.0.1:{port}",
                                     args.concurrency, args.rounds, args.per_round,
                                     gateway.pid))
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(30)
        server.stop()
    rows = summarize(points)
    write_results(rows, args.out, args)
    print((args.out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
