"""CPU per request of the gateway process under a fixed load (issue 17, item 7).

The gateway and tritonserver share the machine's cores, so every millisecond of gateway CPU per
request shows up as latency once the cores are busy (concurrency 8 on two cores). Wall-clock
latency is noisy there; the gateway process's own CPU time per request (its threads' on-CPU time
from /proc, checked against psutil's user + system) is not, so this is the figure to cut and
compare between changes.

One tritonserver (engine, development profile, short replies; or `--triton-url` to reuse a running
one) and `pixel gateway` in a subprocess. The gateway's CPU is read while idle (gRPC's pollers and
the event loop cost something with no request at all) and over N unary requests at a fixed
concurrency sent with keep-alive `http.client` connections (a cheap load generator: the SDK's own
CPU would compete for the same cores). `--profile FILE` runs the gateway under cProfile.

    python -m benchmarks.gateway_cpu [--requests 64] [--concurrency 8] [--gateway-arg=--access-log]
        [--baseline ../main]   # side by side with another checkout's gateway, alternating rounds
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

from benchmarks.gateway_bench import MAX_TOKENS, MESSAGES, free_port, start_gateway
from benchmarks.process_cpu import cpu_s, thread_cpu_s


def post(connection: http.client.HTTPConnection, i: int) -> None:
    body = json.dumps({"model": "pixel", "max_tokens": MAX_TOKENS, "user": f"cpu-{uuid.uuid4().hex}",
                       "messages": [{"role": "user", "content": MESSAGES[i % len(MESSAGES)]}]})
    connection.request("POST", "/v1/chat/completions", body,
                       {"Content-Type": "application/json", "Authorization": "Bearer unused"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"the gateway answered {response.status}")


def load(port: int, requests: int, concurrency: int) -> float:
    """Send `requests` calls, `concurrency` at a time; the wall time in seconds."""
    counter = iter(range(requests))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                post(connection, i)
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - started


class Gateway:
    """One gateway subprocess and the CPU it used over the measured rounds."""

    def __init__(self, label: str, grpc_url: str, args, pythonpath: Path | None = None):
        self.label, self.port = label, free_port()
        self.process = start_gateway(grpc_url, self.port, args.gateway_arg, args.profile,
                                     pythonpath=pythonpath)
        self.ps = psutil.Process(self.process.pid)
        self.idle_rate = 0.0
        self.used = self.ticked = self.wall = 0.0
        self.requests = 0
        self.threads: dict[str, float] = {}

    def round(self, requests: int, concurrency: int) -> None:
        threads_before, ticks_before = thread_cpu_s(self.ps.pid), self.ps.cpu_times()
        self.wall += load(self.port, requests, concurrency)
        threads_after, ticks_after = thread_cpu_s(self.ps.pid), self.ps.cpu_times()
        self.requests += requests
        self.used += sum(threads_after.values()) - sum(threads_before.values())
        self.ticked += sum(ticks_after[:2]) - sum(ticks_before[:2])
        for name, cpu in threads_after.items():
            self.threads[name] = self.threads.get(name, 0.0) + cpu - threads_before.get(name, 0.0)

    def row(self, concurrency: int, gateway_args: list[str]) -> dict:
        per_request = 1000.0 / self.requests
        return {
            "gateway": self.label, "concurrency": concurrency, "requests": self.requests,
            "gateway_args": " ".join(gateway_args),
            "cpu_ms_per_request": self.used * per_request,
            "cpu_ms_per_request_psutil": self.ticked * per_request,  # cross-check, 10 ms ticks
            "idle_cpu_ms_per_s": self.idle_rate * 1000.0,
            "cpu_ms_per_request_net_of_idle": (self.used - self.idle_rate * self.wall)
            * per_request,
            "requests_per_s": self.requests / self.wall,
            "load_average_1m": os.getloadavg()[0],
            "cpu_ms_per_request_by_thread": {name: round(cpu * per_request, 3) for name, cpu in
                                             sorted(self.threads.items(), key=lambda i: -i[1])
                                             if cpu > 0},
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def measure(grpc_url: str, args) -> list[dict]:
    """This checkout's gateway (and the baseline checkout's, if given) under the same load, in
    alternating rounds so that both see the same state of the shared machine."""
    gateways: list[Gateway] = []
    try:
        gateways.append(Gateway("this", grpc_url, args))
        if args.baseline:
            gateways.append(Gateway(f"baseline ({args.baseline})", grpc_url, args,
                                    pythonpath=args.baseline))
        for gateway in gateways:  # warm-up: connections, prefix cache; then the idle cost
            load(gateway.port, 2 * args.concurrency, args.concurrency)
            before = cpu_s(gateway.ps.pid)
            time.sleep(args.idle_s)
            gateway.idle_rate = (cpu_s(gateway.ps.pid) - before) / args.idle_s
        per_round = max(args.concurrency, args.requests // args.rounds)
        for r in range(args.rounds):
            for gateway in (gateways if r % 2 == 0 else gateways[::-1]):
                gateway.round(per_round, args.concurrency)
    finally:
        for gateway in gateways:
            gateway.stop()
    return [gateway.row(args.concurrency, args.gateway_arg) for gateway in gateways]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4, help="rounds the requests are split "
                        "into; with --baseline the two gateways take turns")
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT", help="also measure the "
                        "gateway of another checkout of this project (e.g. a worktree of main)")
    parser.add_argument("--triton-url", help="reuse a running tritonserver (gRPC HOST:PORT)")
    parser.add_argument("--gateway-arg", action="append", default=[],
                        help="extra argument of `pixel gateway` (repeatable), e.g. --access-log")
    parser.add_argument("--profile", type=Path, help="run the gateway under cProfile and write "
                        "its stats here (read them with `python -m pstats FILE`)")
    args = parser.parse_args(argv)
    server = None
    grpc_url = args.triton_url
    if grpc_url is None:
        from pipeline_lib.serving_stack import server_from_overrides

        folder = Path(tempfile.mkdtemp(prefix="pixel-gateway-cpu-"))
        server = server_from_overrides(
            ["profile=development", f"lm.max_new_tokens={MAX_TOKENS}"],
            repository=folder / "repo", http_port=free_port(), grpc_port=free_port(),
            metrics_port=free_port(), log_file=folder / "tritonserver.log")
        server.start()
        grpc_url = server.grpc_url
    try:
        rows = measure(grpc_url, args)
    finally:
        if server is not None:
            server.stop()
    for row in rows:
        print(json.dumps(row))
    for row in rows:
        print(f"{row['gateway']}: gateway CPU per request at c{row['concurrency']}: "
              f"{row['cpu_ms_per_request']:.2f} ms ({row['cpu_ms_per_request_net_of_idle']:.2f} ms "
              f"net of {row['idle_cpu_ms_per_s']:.1f} ms/s idle), {row['requests_per_s']:.2f} "
              f"req/s, load average {row['load_average_1m']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
