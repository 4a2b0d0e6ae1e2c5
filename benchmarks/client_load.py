"""A small load test from the client side: `PixelClient.batch_infer` with a bounded number in flight.

Same messages as perf_analyzer, gRPC on loopback, cache off and no recorder, so what it adds over
perf_analyzer's numbers is the client's own work: encoding, A/B routing, retries' bookkeeping,
decoding the outputs into a PixelResult. Reports the same percentiles.

    python -m benchmarks.client_load --url 127.0.0.1:8001 --concurrency 1 4 --requests 16
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import time
from dataclasses import replace

import numpy as np

from benchmarks.inputs import MESSAGES, load_messages
from pipeline_lib.client import ClientSettings, InferRequest, PixelClient
from pipeline_lib.client.settings import CacheSettings
from pipeline_lib.errors import PixelError

MAX_REQUESTS = 1000  # bounded on purpose: this is a loopback check, not a load generator


class ClientLoadError(PixelError):
    """The load test was asked for something it refuses (a remote host, too many requests) or failed."""


def check_loopback(url: str) -> None:
    host = url.rsplit(":", 1)[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ClientLoadError(f"{url}: the client load test runs on loopback only (127.0.0.1:<port>)")


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    arr = np.asarray(latencies_ms, dtype=float)
    return {f"p{q}_ms": float(np.percentile(arr, q)) for q in (50, 90, 95, 99)} | {"avg_ms": float(arr.mean())}


async def run_level(client: PixelClient, messages: list[dict[str, str]], *, concurrency: int,
                    requests: int) -> dict:
    """`requests` calls (messages cycled), at most `concurrency` in flight; one result row."""
    items = [InferRequest(text=m["text"], session_id=f"{m['session_id']}-{i}",
                          context_type=m["context_type"], use_cache=False)
             for i, m in ((i, messages[i % len(messages)]) for i in range(requests))]
    started = time.perf_counter()
    outcomes = await client.batch_infer(items, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise ClientLoadError(f"{len(failed)} of {requests} requests failed at concurrency "
                              f"{concurrency}; first: {type(failed[0].error).__name__}: {failed[0].error}")
    latencies = [o.result.latency_ms for o in outcomes]
    server = [o.result.server_time_ms for o in outcomes]
    # Per request: what the client, gRPC and the ensemble's entry add to the server's own time
    # (tokenizer start -> scoring end); immune to how busy the shared cores were.
    added = [lat - srv for lat, srv in zip(latencies, server, strict=True)]
    return {"target": "client", "concurrency": concurrency, "requests": requests,
            "throughput_rps": requests / elapsed, **percentiles(latencies),
            "server_p50_ms": float(np.percentile(server, 50)),
            "added_p50_ms": float(np.percentile(added, 50)), "added_p99_ms": float(np.percentile(added, 99))}


async def client_load(url: str, *, levels: list[int], requests: int,
                      messages: list[dict[str, str]] | None = None, model: str = "pixel") -> list[dict]:
    check_loopback(url)
    if not 0 < requests <= MAX_REQUESTS:
        raise ClientLoadError(f"--requests must be between 1 and {MAX_REQUESTS}")
    messages = messages or load_messages(MESSAGES)
    settings = ClientSettings(grpc_url=url, cache=CacheSettings(backend="none"), timeout_s=1800.0)
    settings = replace(settings, variants=(replace(settings.variants[0], model_name=model),))
    rows = []
    async with PixelClient(settings) as client:
        await client.infer(**{k: messages[0][k] for k in ("text", "session_id", "context_type")},
                           use_cache=False)  # warm-up: connection and first-call costs
        for c in levels:
            rows.append(await run_level(client, messages, concurrency=c, requests=max(requests, c)))
    return rows


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="127.0.0.1:8001", help="Triton gRPC host:port (loopback only)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4], help="requests in flight")
    p.add_argument("--requests", type=int, default=16, help=f"requests per level (max {MAX_REQUESTS})")
    args = p.parse_args(argv)
    console = Console()
    try:
        rows = asyncio.run(client_load(args.url, levels=args.concurrency, requests=args.requests))
    except PixelError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    table = Table("concurrency", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "server p50 ms",
                  "added p50 ms", title="PixelClient load (loopback)")
    for r in rows:
        table.add_row(*(str(r["concurrency"]), str(r["requests"])),
                      *(f"{r[k]:.1f}" for k in ("throughput_rps", "p50_ms", "p90_ms", "p99_ms", "server_p50_ms",
                                                "added_p50_ms")))
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
