"""`pixel serve`: build the model repository, run tritonserver and keep it healthy until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline_lib.server import ADMIN_KEY_ENV, GrpcTls
from pipeline_lib.serving_stack import server_from_overrides
from pipeline_lib.supervisor import HealingPolicy, Supervisor


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="start tritonserver with the Pixel models and keep it healthy",
        description="Render the configs (with Hydra overrides), assemble the model repository, start "
                    "the PyPI tritonserver on localhost, wait until every model is ready, print the "
                    "endpoints and serve until Ctrl-C. A supervisor reloads a model whose Python "
                    "stub died (or restarts the server) without an operator. The admin APIs "
                    f"(model control, statistics, ...) need the header admin-key: ${ADMIN_KEY_ENV} "
                    "(a random key per start when unset: only the supervisor knows it).")
    p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=development lm.max_new_tokens=32")
    p.add_argument("--http-port", type=int, help="HTTP port (default from configs/server: 8000)")
    p.add_argument("--grpc-port", type=int, help="gRPC port (default 8001)")
    p.add_argument("--metrics-port", type=int, help="Prometheus metrics port (default 8002)")
    p.add_argument("--log-file", type=Path, help="server log (default .pixel/logs/tritonserver.log)")
    p.add_argument("--repository", type=Path, help="where to assemble the model repository")
    tls = p.add_argument_group(
        "gRPC TLS", "Triton 2.51 has TLS on gRPC only; its HTTP listener is plain (keep it on "
                    "localhost, or put a TLS-terminating proxy or ingress in front of it)")
    tls.add_argument("--tls-cert", type=Path, help="server certificate (PEM); turns on gRPC TLS")
    tls.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    tls.add_argument("--tls-client-ca", type=Path,
                     help="CA (PEM) that signs client certificates: mutual TLS")
    p.add_argument("--no-heal", action="store_true",
                   help="do not supervise (a dead stub then stays dead until you restart)")
    p.add_argument("--probe-interval", type=float, default=HealingPolicy.probe_interval_s,
                   help="seconds between the supervisor's tiny inference probes (0: stubs only)")
    p.set_defaults(func=run)


def grpc_tls_from_args(args) -> GrpcTls | None:
    if args.tls_cert is None and args.tls_key is None:
        if args.tls_client_ca is not None:
            raise SystemExit("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise SystemExit("gRPC TLS needs both --tls-cert and --tls-key")
    return GrpcTls(args.tls_cert, args.tls_key, args.tls_client_ca)


def run(args) -> int:
    console = Console()
    options = {k: v for k, v in (("http_port", args.http_port), ("grpc_port", args.grpc_port),
                                 ("metrics_port", args.metrics_port), ("log_file", args.log_file),
                                 ("grpc_tls", grpc_tls_from_args(args))) if v is not None}
    server = server_from_overrides(args.overrides, repository=args.repository, **options)
    with console.status(f"starting tritonserver (models: {', '.join(server.models)}); "
                        f"log: {server.log_file or '.pixel/logs/tritonserver.log'}"):
        server.start()
    table = Table(title="Pixel on Triton is serving", show_header=False)
    table.add_row("gRPC", server.grpc_url + (" (TLS)" if server.grpc_tls else ""))
    table.add_row("HTTP", f"http://{server.http_url}")
    table.add_row("metrics", server.metrics_url)
    table.add_row("models", ", ".join(server.models))
    table.add_row("log", str(server.log_file))
    table.add_row("healing", "off" if args.no_heal else "on")
    console.print(table)
    console.print("Ctrl-C stops the server.")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly under a supervisor too
    stop = threading.Event()
    try:
        if args.no_heal:
            while not stop.wait(0.5) and server.process.poll() is None:
                pass
            console.print(f"[red]tritonserver exited with code {server.process.returncode}[/]:\n"
                          f"{server.failure_reason()}")
            return 1
        policy = HealingPolicy(probe_interval_s=args.probe_interval)
        code = Supervisor(server, admin_key=server.admin_key, policy=policy).run(stop)
        server.stop()
        return code
    except KeyboardInterrupt:
        console.print("stopping…")
        code = server.stop()
        console.print(f"tritonserver stopped (exit code {code})")
        return 0
