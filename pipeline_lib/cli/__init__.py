"""The `pixel` command. Each subcommand lives in its own module with `add_parser(subparsers)`.

Adding a command: write `pipeline_lib/cli/<name>.py` with `add_parser` (which sets `func`) and add
its module name to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from rich.console import Console

from pipeline_lib.errors import PixelError

COMMANDS = [
    "export",
    "render",
    "serve",
    "prepare",
    "demo",
    "db",
    "report",
    "monitor",
    "ask",
    "health",
    "gateway",
    "gateway_keys",
    "train_scoring",
    "eval_scoring",
]

console = Console(stderr=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixel",
        description="Pixel on Triton: render configs, serve the ensemble, ask it, record outcomes.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"pipeline_lib.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except PixelError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
