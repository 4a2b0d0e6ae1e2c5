"""`pixel report`: per-variant analytics, the A/B comparison with significance tests, a PNG plot."""

from __future__ import annotations

import argparse
import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline_lib.cli.db import add_store_options, run_store_call, settings_from_args
from pipeline_lib.errors import InvalidInputError

_AGE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`24h`, `30m`, `7d` (ago) or an ISO date/time (UTC unless it says otherwise)."""
    now = now or datetime.now(timezone.utc)
    match = _AGE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError("--since", "use an age like 24h, 30m, 7d or an ISO date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="analytics and A/B comparison from the outcome store",
        description="Per-variant request counts, latency p50/p95/p99, mean EQ/safety/bias, crises "
        "and error rate; the A/B comparison with Welch t-tests and Fisher's exact test; alert "
        "counts; human-rating accuracy; and a PNG plot. --sql prints the SQL for psql.",
    )
    add_store_options(parser)
    parser.add_argument("--since", default="24h", help="window start: 24h, 30m, 7d or ISO time")
    parser.add_argument("--test", dest="test_name", help="A/B test name (default: store.ab_test)")
    parser.add_argument("--baseline", help="variant the others are compared with (default: first)")
    parser.add_argument("--png", type=Path, help="plot path (default: <state_dir>/report.png)")
    parser.add_argument("--no-png", action="store_true", help="skip the plot")
    parser.add_argument("--short", action="store_true", help="variant table and A/B tests only")
    parser.add_argument(
        "--sql", choices=["variants", "ab", "alerts", "feedback", "samples"],
        help="print one query's SQL (to paste into psql) and exit",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline_lib.checkpoints import state_dir
    from pipeline_lib.store.analytics import build_report
    from pipeline_lib.store.analytics_sql import QUERIES
    from pipeline_lib.store.engine import create_engine

    # Pipes get 80 columns by default, too narrow for these tables.
    out = Console() if Console().is_terminal else Console(width=150)
    if args.sql:
        out.print(QUERIES[args.sql].strip(), markup=False, highlight=False, soft_wrap=True)
        return 0
    settings = settings_from_args(args)
    since = parse_since(args.since)
    test_name = args.test_name or settings.ab_test

    async def collect():
        engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
        try:
            return await build_report(
                engine, since=since, test_name=test_name, baseline=args.baseline,
                with_samples=not args.no_png,
            )
        finally:
            await engine.dispose()

    report = run_store_call(settings, lambda: asyncio.run(collect()))
    _print_variants(out, report)
    _print_comparisons(out, report)
    if not args.short:
        _print_rows(out, "Alerts", report.alerts, ["alert", "total", "still_open"])
        _print_rows(out, "Human ratings", report.feedback,
                    ["variant", "ratings", "mean_rating", "acceptable_rate", "confirmed_crises",
                     "crisis_recall"])
    if not args.no_png:
        from pipeline_lib.store.plots import write_report_png

        path = write_report_png(report, args.png or state_dir() / "report.png")
        out.print(f"plot written to {path}")
    return 0


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def _print_rows(
    out: Console, title: str, rows: list[dict], columns: list[str], headers: list[str] | None = None
) -> None:
    table = Table(title=title)
    for column, header in zip(columns, headers or [c.replace("_", " ") for c in columns], strict=True):
        left = column in ("variant", "alert")
        table.add_column(header, justify="left" if left else "right", no_wrap=left)
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in columns))
    if not rows:
        table.caption = "no rows in this window"
    out.print(table)


def _print_variants(out: Console, report) -> None:
    _print_rows(
        out,
        f"Per variant since {report.since:%Y-%m-%d %H:%M} UTC",
        report.variants,
        ["variant", "requests", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "mean_eq",
         "mean_safety", "mean_bias", "crisis_count", "error_rate", "cache_hit_rate"],
        ["variant", "requests", "p50 ms", "p95 ms", "p99 ms", "mean EQ", "safety", "bias",
         "crises", "error rate", "cache hits"],
    )


def _print_comparisons(out: Console, report) -> None:
    table = Table(title=f"A/B test '{report.test_name}' (alpha 0.05)")
    for column in ("metric", "variant vs baseline", "baseline", "variant", "difference",
                   "95% CI", "p", "test", "significant"):
        table.add_column(column, no_wrap=True)
    for c in report.comparisons:
        ci = "-" if c.ci_low is None else f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]"
        table.add_row(
            c.metric, f"{c.variant} vs {c.baseline}", _fmt(c.baseline_value), _fmt(c.variant_value),
            _fmt(c.difference), ci, f"{c.p_value:.3g}", c.test, "yes" if c.significant else "no",
        )
    if not report.comparisons:
        table.caption = "needs at least two variants with two calls each"
    out.print(table)
