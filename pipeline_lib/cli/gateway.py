"""`pixel gateway`: serve the OpenAI-compatible chat API and the browser console over HTTP."""

from __future__ import annotations

from rich.console import Console

from pipeline_lib.composition import load_app_config


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gateway", help="serve the OpenAI-compatible chat API and the browser console",
        description="Serve POST /v1/chat/completions (stream or not), GET /v1/models, "
                    "/health/live, /health/ready, /metrics and the browser console at / in "
                    "front of a running tritonserver (`pixel serve`), through PixelClient over "
                    "gRPC. Every call is recorded in the outcome store (configs/store). Settings "
                    "come from configs/application.yaml; OVERRIDES are Hydra overrides, e.g. "
                    "client=ab_two_variants store=postgres gateway.mode=production. API keys: "
                    "`pixel gateway-keys create NAME`; without any, no key is needed (embedded "
                    "mode only). Use any OpenAI SDK with base_url=http://HOST:PORT/v1.")
    p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. gateway.rate_limit.burst=5")
    p.add_argument("--host", help="address to listen on (default gateway.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default gateway.port, 8080)")
    p.add_argument("--triton-url", metavar="HOST:PORT",
                   help="Triton's gRPC address (default client.grpc_url, 127.0.0.1:8001)")
    p.add_argument("--keys-file", metavar="PATH",
                   help="API keys file (default gateway.keys.file: .pixel/gateway_keys.json)")
    p.add_argument("--production", action="store_true",
                   help="gateway.mode=production: refuse to start without API keys")
    p.add_argument("--no-record", action="store_true", help="do not record outcomes")
    p.add_argument("--access-log", action="store_true",
                   help="gateway.access_log=true: log a line per request (off by default: it "
                        "costs CPU on every call)")
    p.set_defaults(func=run)


def overrides_from_args(args) -> list[str]:
    overrides = list(args.overrides)
    for flag, key in ((args.host, "gateway.host"), (args.port, "gateway.port"),
                      (args.triton_url, "client.grpc_url"), (args.keys_file, "gateway.keys.file")):
        if flag is not None:
            overrides.append(f"{key}={flag}")
    if args.production:
        overrides.append("gateway.mode=production")
    if args.no_record:
        overrides.append("gateway.record=false")
    if args.access_log:
        overrides.append("gateway.access_log=true")
    return overrides


def run(args) -> int:
    from pipeline_lib.gateway.server import GatewayServer, run_loop

    config = load_app_config(overrides_from_args(args))
    server = GatewayServer(config)
    console = Console(stderr=True)
    console.print(f"[green]Pixel gateway[/] on {server.url}  (console {server.url}/, OpenAI "
                  f"base_url {server.url}/v1, Triton gRPC {config.client.grpc_url})")
    run_loop(server.serve())
    return 0
