"""`pixel monitor`: a live terminal view of Triton's metrics (rates, latency, queue, compute, GPU)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live

from pipeline_lib.monitor import fetch_snapshot, render

DEFAULT_URL = "http://127.0.0.1:8002/metrics"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "monitor", help="watch request rate, latency, queue/compute time and GPU from /metrics",
        description="Scrape Triton's Prometheus endpoint and show, per model, requests per second, "
                    "failures, mean latency, queue time, compute time (input/infer/output), mean "
                    "batch size and pending requests, plus GPU utilisation and memory where the "
                    "server has GPUs. Figures are over the refresh interval; with --once, means "
                    "since the server started.")
    p.add_argument("--url", default=DEFAULT_URL,
                   help=f"Triton's metrics URL (default {DEFAULT_URL}; compose publishes 8002 on "
                        "127.0.0.1, Kubernetes: kubectl port-forward svc/pixel-triton 8002)")
    p.add_argument("--interval", type=float, default=2.0,
                   help="seconds between scrapes (default 2; Triton refreshes GPU gauges every 2 s)")
    p.add_argument("--once", action="store_true",
                   help="print one snapshot (means since server start) and exit")
    p.add_argument("--count", type=int, default=0,
                   help="stop after this many refreshes (default 0: until Ctrl-C)")
    p.add_argument("--model", action="append", dest="models", metavar="NAME",
                   help="show only this model (repeatable; default: all)")
    p.set_defaults(func=run)


def run(args, console: Console | None = None) -> int:
    # Piped output has no terminal width; give the eleven columns room instead of rich's 80.
    console = console or (Console() if Console().is_terminal else Console(width=150))
    if args.interval <= 0:
        console.print("[red]--interval must be positive[/]")
        return 2
    previous = fetch_snapshot(args.url)
    if args.once:
        console.print(render(previous, url=args.url, models=args.models))
        return 0
    refreshes = 0
    # Live redraws in place on a terminal; piped output gets one table per refresh instead.
    with Live(render(previous, url=args.url, models=args.models), console=console,
              auto_refresh=False, transient=False) as live:
        while not args.count or refreshes < args.count:
            time.sleep(args.interval)
            current = fetch_snapshot(args.url)
            live.update(render(current, previous, url=args.url, models=args.models), refresh=True)
            previous = current
            refreshes += 1
    return 0
