"""Options shared by the client commands (`pixel ask`, `pixel health`), composed through the
application's composition root (pipeline_lib/composition.py)."""

from __future__ import annotations

import argparse

from pipeline_lib.client.settings import ClientSettings
from pipeline_lib.client.transport import PROTOCOLS
from pipeline_lib.composition import AppConfig, load_app_config


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="server host:port without scheme (default: client.grpc_url "
                        "or client.http_url from configs/client/)")
    parser.add_argument("--protocol", choices=PROTOCOLS, help="grpc (port 8001) or http (port "
                        "8000); default client.protocol")
    parser.add_argument("--timeout", type=float, help="deadline in seconds, retries included "
                        "(default client.timeout_s)")
    parser.add_argument("--config", default="client/default", help="client config under configs/ "
                        "(e.g. client/ab_two_variants)")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="Hydra override of configs/application.yaml, repeatable, e.g. "
                             "-o client.cache.backend=redis")
    parser.add_argument("--tls", action="store_true",
                        help="connect with TLS (gRPC; HTTP only through a TLS proxy)")
    parser.add_argument("--ca", metavar="PEM", help="CA certificate that signed the server's "
                        "certificate (implies --tls; default: the system's CAs)")
    parser.add_argument("--client-cert", metavar="PEM", help="this client's certificate, for "
                        "mutual TLS (with --client-key; implies --tls)")
    parser.add_argument("--client-key", metavar="PEM", help="the client certificate's key")
    parser.add_argument("--json", action="store_true",
                        help="print JSON on stdout instead of tables")


def app_config_from_args(args: argparse.Namespace, extra: list[str] | None = None) -> AppConfig:
    overrides = [f"client={args.config.removeprefix('client/')}", *(extra or []),
                 *args.override]
    if args.protocol:
        overrides.append(f"client.protocol={args.protocol}")
    if args.url:
        # --url belongs to the protocol in use (from --protocol, else from the config).
        protocol = args.protocol or load_app_config(overrides).client.protocol
        overrides.append(f"client.{protocol}_url={args.url}")
    if args.timeout:
        overrides.append(f"client.timeout_s={args.timeout}")
    tls_files = {"ca": args.ca, "cert": args.client_cert, "key": args.client_key}
    if args.tls or any(tls_files.values()):
        overrides.append("client.tls.enabled=true")
        overrides += [f"client.tls.{k}={v}" for k, v in tls_files.items() if v]
    return load_app_config(overrides)


def settings_from_args(args: argparse.Namespace) -> ClientSettings:
    return app_config_from_args(args).client
