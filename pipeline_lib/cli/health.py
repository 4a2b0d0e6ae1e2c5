"""`pixel health`: is the server live and ready, and is every model ready?"""

from __future__ import annotations

import asyncio
import json
import sys

from rich.console import Console
from rich.table import Table

from pipeline_lib.cli.client_options import add_client_options, settings_from_args
from pipeline_lib.client import HealthReport, PixelClient


def add_parser(sub) -> None:
    p = sub.add_parser(
        "health", help="show server liveness/readiness and each model's readiness",
        description="Ask the Triton server whether it is live and ready and whether each model in "
                    "its repository (and each A/B variant's ensemble) is ready, then send each variant "
                    "one tiny real request (a model whose Python stub died still says ready on "
                    "Triton 2.51; only a request shows it). Exit code 0 when everything is ready "
                    "and answered, 1 otherwise (usable as a probe).")
    add_client_options(p)
    p.add_argument("--no-probe", action="store_true",
                   help="readiness only, no inference (cheaper, but blind to a dead stub)")
    p.set_defaults(func=run)


def run(args) -> int:
    report = asyncio.run(_health(settings_from_args(args), probe=not args.no_probe))
    if args.json:
        sys.stdout.write(json.dumps({"url": report.url, "live": report.live, "ready": report.ready,
                                     "models": report.models, "probes": report.probes,
                                     "healthy": report.healthy,
                                     "error": report.error}, indent=2) + "\n")
    else:
        show(Console(), report)
    return 0 if report.healthy else 1


async def _health(settings, *, probe: bool) -> HealthReport:
    async with PixelClient(settings, cache=None) as client:
        return await client.health(probe=probe)


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def show(console: Console, report: HealthReport) -> None:
    console.print(f"server {report.url}: live {_mark(report.live)}, ready {_mark(report.ready)}")
    if report.error:
        console.print(f"[red]{report.error}[/]")
    if report.models:
        table = Table("model", "ready")
        for name, ready in report.models.items():
            table.add_row(name, _mark(ready))
        console.print(table)
    for name, failure in report.probes.items():
        console.print(f"probe {name}: " + (f"[red]{failure}[/]" if failure else "[green]answered[/]"))
    verdict = "[bold green]healthy[/]" if report.healthy else "[bold red]NOT healthy[/]"
    console.print(verdict)
