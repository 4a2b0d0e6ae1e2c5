"""`pixel serve`: build the model repository and run tritonserver until Ctrl-C."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline_lib.serving_stack import server_from_overrides


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="start tritonserver with the Pixel ensemble",
        description="Render the configs (with Hydra overrides), assemble the model repository, start "
                    "the PyPI tritonserver on localhost, wait until every model is ready, print the "
                    "endpoints and serve until Ctrl-C.")
    p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=development lm.max_new_tokens=32")
    p.add_argument("--http-port", type=int, help="HTTP port (default from configs/server: 8000)")
    p.add_argument("--grpc-port", type=int, help="gRPC port (default 8001)")
    p.add_argument("--metrics-port", type=int, help="Prometheus metrics port (default 8002)")
    p.add_argument("--log-file", type=Path, help="server log (default .pixel/logs/tritonserver.log)")
    p.add_argument("--repository", type=Path, help="where to assemble the model repository")
    p.set_defaults(func=run)


def run(args) -> int:
    console = Console()
    ports = {k: v for k, v in (("http_port", args.http_port), ("grpc_port", args.grpc_port),
                               ("metrics_port", args.metrics_port), ("log_file", args.log_file))
             if v is not None}
    server = server_from_overrides(args.overrides, repository=args.repository, **ports)
    with console.status(f"starting tritonserver (models: {', '.join(server.models)}); "
                        f"log: {server.log_file or '.pixel/logs/tritonserver.log'}"):
        server.start()
    table = Table(title="Pixel on Triton is serving", show_header=False)
    table.add_row("gRPC", server.grpc_url)
    table.add_row("HTTP", f"http://{server.http_url}")
    table.add_row("metrics", server.metrics_url)
    table.add_row("models", ", ".join(server.models))
    table.add_row("log", str(server.log_file))
    console.print(table)
    console.print("Ctrl-C stops the server.")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly under a supervisor too
    try:
        while server.process.poll() is None:
            time.sleep(0.5)
        console.print(f"[red]tritonserver exited with code {server.process.returncode}[/]:\n"
                      f"{server.failure_reason()}")
        return 1
    except KeyboardInterrupt:
        console.print("stopping…")
        code = server.stop()
        console.print(f"tritonserver stopped (exit code {code})")
        return 0
