"""`pixel demo`: the main job on the embedded default, start to finish.

Start the PyPI tritonserver with the demo model, stream three raw texts over gRPC through the async
client (one a crisis message), record every outcome in SQLite, print the results and a short
report, stop the server.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import uuid

from rich.console import Console
from rich.table import Table

from pipeline_lib.client.stream_events import StreamDelta
from pipeline_lib.composition import AppConfig, load_app_config, open_client
from pipeline_lib.serving_stack import server_from_overrides
from pipeline_lib.store.migrate import upgrade_async

# Written for the demo; no real user's words.
DEMO_MESSAGES = [
    ("general_support", "I've been feeling really anxious about work lately and can't sleep."),
    ("crisis_support", "I don't see the point anymore. I've been thinking about ending my life."),
    ("psychoeducation", "What is the difference between feeling sad and being depressed?"),
]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="start the server, ask three questions, print results and a report, stop",
        description="Run the whole path on the embedded default: tritonserver on localhost with "
                    "the demo model, three raw texts over gRPC (one a crisis message), outcomes "
                    "recorded in SQLite, a results table and a short report.")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for the server, e.g. lm.max_new_tokens=48")
    p.add_argument("--http-port", type=int, default=8000)
    p.add_argument("--grpc-port", type=int, default=8001)
    p.add_argument("--metrics-port", type=int, default=8002)
    p.add_argument("--console", action="store_true",
                   help="afterwards keep serving, with `pixel gateway` and its browser console at "
                        "http://127.0.0.1:8080/, until Ctrl-C")
    p.set_defaults(func=run)


def run(args) -> int:
    # Piped output (CI logs, `make demo | tee`) gets 80 columns by default: too narrow for the table.
    console = Console() if sys.stdout.isatty() else Console(width=150)
    # Per-record replay and migration lines are for operators; the demo shows results instead.
    for name in ("alembic", "pipeline_lib.store"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = server_from_overrides(args.overrides, http_port=args.http_port,
                                   grpc_port=args.grpc_port, metrics_port=args.metrics_port)
    started = time.perf_counter()
    with console.status("starting tritonserver and loading the models (about a minute on 2 cores)…"):
        server.start()
    console.print(f"[green]✓[/] tritonserver ready in {time.perf_counter() - started:.0f} s "
                  f"(gRPC {server.grpc_url}, log {server.log_file})")
    # A generous deadline: the first answers on a busy 2-core machine can take tens of seconds.
    config = load_app_config([f"client.grpc_url={server.grpc_url}", "client.protocol=grpc",
                              "client.timeout_s=180"])
    try:
        results = asyncio.run(_ask_all(console, config))
        if args.console:
            _serve_console(console, config)
    finally:
        with console.status("stopping tritonserver…"):
            server.stop()
    _show(console, results)
    _report(console)
    if not args.console:
        console.print(f"Chat in the browser: [bold]make demo PIXEL_DEMO_ARGS=--console[/] (or "
                      f"`pixel serve` and `pixel gateway`), then open "
                      f"[link]{config.gateway.url}/[/link]")
    return 0


def _serve_console(console: Console, config: AppConfig) -> None:
    from pipeline_lib.gateway.server import GatewayServer

    gateway = GatewayServer(config, log_level="warning")
    gateway.start_in_thread()
    console.print(f"[green]✓[/] console at [bold]{gateway.url}/[/] (OpenAI base_url "
                  f"{gateway.url}/v1); Ctrl-C stops")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()


async def _ask_all(console: Console, config: AppConfig):
    await upgrade_async(config.store.database_url)
    results = []
    async with open_client(config) as client:
        for i, (context, text) in enumerate(DEMO_MESSAGES, 1):
            console.rule(f"#{i} {context}: streamed as it is written")
            console.print(f"[dim]user:[/] {text}")
            console.print("[bold]Pixel:[/] ", end="")
            async for event in client.stream(text, f"demo-{uuid.uuid4().hex[:8]}", context):
                if isinstance(event, StreamDelta):
                    # The assessment comes first: for a crisis, the crisis-line pointer leads.
                    console.print(event.text, end="", style="bold red" if event.crisis_flag
                                  else None, markup=False, highlight=False)
                else:
                    results.append(event)
            console.print()
    return results


def _show(console: Console, results) -> None:
    table = Table(title="Pixel: three raw texts, safety first, streamed by the engine")
    for column in ("#", "context", "crisis", "persona", "written as", "EQ SA/SR/M/E/SS",
                   "overall EQ", "safety", "bias", "server ms", "client ms"):
        table.add_column(column, justify="left" if column in ("context", "persona", "written as")
                         else "right", no_wrap=column.startswith("EQ"))
    for i, r in enumerate(results, 1):
        table.add_row(str(i), r.context_type, "[bold red]YES[/]" if r.crisis_flag else "no",
                      r.persona_mode, r.reply_persona or "-",
                      " ".join(f"{x:.2f}" for x in r.eq_scores), f"{r.overall_eq:.2f}",
                      f"{r.safety_score:.2f}", f"{r.bias_score:.2f}", f"{r.server_time_ms:.0f}",
                      f"{r.latency_ms:.0f}")
    console.print(table)


def _report(console: Console) -> None:
    from pipeline_lib.cli import main

    console.rule("report (pixel report --short)")
    main(["report", "--short", "--since", "1h"])
