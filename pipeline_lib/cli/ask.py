"""`pixel ask`: send one message to Pixel and show the scored answer (or stream it as it comes)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pipeline_lib.cli.client_options import add_client_options, app_config_from_args
from pipeline_lib.client import PixelResult, StreamDelta
from pipeline_lib.client.result import CONTEXT_TYPES
from pipeline_lib.composition import AppConfig, open_client

GENERATION_OPTIONS = ("max_new_tokens", "temperature", "top_p", "seed")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ask", help="send one message to Pixel and print the scored answer (--stream: as it comes)",
        description="Send TEXT to Pixel and print the response with its EQ scores, safety and "
                    "bias scores, persona and crisis flag. The session id picks the A/B variant "
                    "(sticky). The outcome is recorded in the store (configs/store; --no-record "
                    "to skip). With --stream the reply is printed as it is generated (gRPC "
                    "streaming to the variant's `<model>_stream`, which the engine serves): the "
                    "crisis assessment and, for a message in crisis, the crisis-line pointer "
                    "first, then the reply, then the scores. Ctrl-C stops the generation on the "
                    "server. Exit code 2 on errors.")
    p.add_argument("text", help="the user's message")
    p.add_argument("--session", default=None, help="session id; picks the A/B variant "
                   "(default: a new random id)")
    p.add_argument("--context", default="general_support", choices=CONTEXT_TYPES,
                   help="conversation context (default general_support)")
    p.add_argument("--stream", action="store_true",
                   help="print the reply as it is generated (gRPC; needs the engine)")
    p.add_argument("--no-cache", action="store_true", help="bypass the result cache for this call")
    gen = p.add_argument_group("generation (engine models only; default: the server's config)")
    gen.add_argument("--max-new-tokens", type=int, metavar="N",
                     help="at most N new tokens; a reply cut short ends at a sentence boundary")
    gen.add_argument("--temperature", type=float, metavar="T", help="0 = greedy (the default)")
    gen.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling mass, in (0, 1]")
    gen.add_argument("--seed", type=int, help="sampling seed, for a reproducible sampled reply")
    record = p.add_mutually_exclusive_group()
    record.add_argument("--record", dest="record", action="store_true", default=True,
                        help="record the outcome in the store like an application does (the "
                             "default; embedded SQLite unless --store says otherwise)")
    record.add_argument("--no-record", dest="record", action="store_false",
                        help="do not record the outcome")
    p.add_argument("--store", default="default", metavar="NAME",
                   help="store config in configs/store/ (default, postgres)")
    add_client_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    config = app_config_from_args(args, [f"store={args.store}"])
    session = args.session or f"cli-{uuid.uuid4().hex}"
    generation = {name: getattr(args, name) for name in GENERATION_OPTIONS
                  if getattr(args, name) is not None}
    console = Console()
    result = asyncio.run(_ask(args, config, session, generation, console))
    if args.json:
        line = result.to_dict() if not args.stream else {"event": "final", **result.to_dict()}
        sys.stdout.write(json.dumps(line, indent=None if args.stream else 2,
                                    ensure_ascii=False) + "\n")
    else:
        show(console, result, reply_shown=args.stream)
    return 0


async def _ask(args, config: AppConfig, session: str, generation: dict,
               console: Console) -> PixelResult:
    async with open_client(config, record=args.record) as client:
        if not args.stream:
            return await client.infer(args.text, session, args.context,
                                      use_cache=not args.no_cache, **generation)
        result = None
        async with client.stream(args.text, session, args.context, **generation) as events:
            async for event in events:
                if isinstance(event, PixelResult):
                    result = event
                elif args.json:
                    sys.stdout.write(json.dumps(_event_json(event), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    print_delta(console, event)
        if not args.json:
            console.print()
        assert result is not None  # a stream ends with its result or raises
        return result


def _event_json(event: StreamDelta) -> dict:
    data = {"event": event.event, "text": event.text}
    if event.is_assessment:
        data.update(crisis_flag=event.crisis_flag, persona_mode=event.persona_mode,
                    reply_persona=event.reply_persona)
    return data


def print_delta(console: Console, event: StreamDelta) -> None:
    """Stream text as it arrives: the assessment's line first (crisis pointer in red)."""
    if event.is_assessment:
        flagged = bool(event.crisis_flag)
        crisis = "[bold red]YES: follow the crisis protocol[/]" if flagged else "no"
        console.print(f"crisis flag: {crisis}   persona: [bold]{event.persona_mode}[/]   "
                      f"replying as: [bold]{event.reply_persona}[/]")
        console.rule(style="red" if flagged else "green")
    # Text, not markup: a reply may contain [brackets].
    style = "bold red" if event.is_assessment and event.crisis_flag else ""
    console.print(Text(event.text, style=style), end="", soft_wrap=True)


def _bar(value: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, value)) * width)
    return "█" * filled + "·" * (width - filled)


def show(console: Console, result: PixelResult, *, reply_shown: bool = False) -> None:
    border = "red" if result.crisis_flag else "green"
    if reply_shown:
        console.rule(style=border)
    else:
        body = Text(result.response_text) if result.response_text else "[dim](empty response)[/]"
        console.print(Panel(body, title="Pixel", border_style=border))
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
    if result.reply_persona is not None:  # only the engine's models report these
        console.print(f"reply written as: [bold]{result.reply_persona}[/]   crisis reply: "
                      f"{result.crisis_reply_mode}   finish: {result.finish_reason}")
    version = result.model_version or "latest"
    cache = "hit" if result.cache_hit else f"miss, {result.attempts} attempt(s)"
    console.print(
        f"[dim]variant {result.variant} ({result.model_name} v{version}) | client "
        f"{result.latency_ms:.0f} ms | server {result.server_time_ms:.0f} ms | cache {cache} | "
        f"request {result.request_id}[/]"
    )
