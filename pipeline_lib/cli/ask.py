"""`pixel ask`: send one message to the Pixel ensemble and show the scored answer."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from pipeline_lib.cli.client_options import add_client_options, settings_from_args
from pipeline_lib.client import PixelClient, PixelResult
from pipeline_lib.client.result import CONTEXT_TYPES


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ask", help="send one message to Pixel and print the scored answer",
        description="Send TEXT through the `pixel` ensemble (tokenizer -> LM -> scoring) and print "
                    "the response with its EQ scores, safety and bias scores, persona and crisis "
                    "flag. The session id picks the A/B variant (sticky). Exit code 2 on errors.")
    p.add_argument("text", help="the user's message")
    p.add_argument("--session", default=None, help="session id; picks the A/B variant "
                   "(default: a new random id)")
    p.add_argument("--context", default="general_support", choices=CONTEXT_TYPES,
                   help="conversation context (default general_support)")
    p.add_argument("--no-cache", action="store_true", help="bypass the result cache for this call")
    add_client_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    settings = settings_from_args(args)
    session = args.session or f"cli-{uuid.uuid4().hex}"
    result = asyncio.run(_ask(settings, args.text, session, args.context, not args.no_cache))
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        show(Console(), result)
    return 0


async def _ask(settings, text: str, session: str, context: str, use_cache: bool) -> PixelResult:
    async with PixelClient(settings) as client:
        return await client.infer(text, session, context, use_cache=use_cache)


def _bar(value: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, value)) * width)
    return "█" * filled + "·" * (width - filled)


def show(console: Console, result: PixelResult) -> None:
    border = "red" if result.crisis_flag else "green"
    console.print(Panel(result.response_text or "[dim](empty response)[/]", title="Pixel",
                        border_style=border))
    scores = Table(show_header=True, header_style="bold")
    scores.add_column("score")
    scores.add_column("value", justify="right")
    scores.add_column("")
    for name, value in result.eq.items():
        scores.add_row(f"EQ {name.replace('_', ' ')}", f"{value:.3f}", _bar(value))
    scores.add_row("[bold]overall EQ[/]", f"{result.overall_eq:.3f}", _bar(result.overall_eq))
    scores.add_row("safety (1 = safe)", f"{result.safety_score:.3f}", _bar(result.safety_score))
    scores.add_row("bias (0 = none)", f"{result.bias_score:.3f}", _bar(result.bias_score))
    console.print(scores)
    crisis = "[bold red]YES: follow the crisis protocol[/]" if result.crisis_flag else "no"
    console.print(f"persona: [bold]{result.persona_mode}[/]   crisis flag: {crisis}")
    version = result.model_version or "latest"
    cache = "hit" if result.cache_hit else f"miss, {result.attempts} attempt(s)"
    console.print(
        f"[dim]variant {result.variant} ({result.model_name} v{version}) | client "
        f"{result.latency_ms:.0f} ms | server {result.server_time_ms:.0f} ms | cache {cache} | "
        f"request {result.request_id}[/]"
    )
