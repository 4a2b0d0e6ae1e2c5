"""Run the analytics SQL (analytics_sql.py) against a store and gather the report's numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pipeline_lib.store.analytics_sql import (
    AB_COMPARISON,
    ALERT_COUNTS,
    FEEDBACK_ACCURACY,
    PLOT_SAMPLES,
    VARIANT_SUMMARY,
)
from pipeline_lib.store.significance import Comparison, compare_variants


@dataclass
class Report:
    since: datetime
    test_name: str
    variants: list[dict[str, Any]] = field(default_factory=list)
    ab: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)


async def run_query(
    conn: AsyncConnection, *, sql: str, since: datetime, test_name: str | None = None
) -> list[dict[str, Any]]:
    # Typed binding makes SQLite compare timestamps in the same text format it stores them in.
    statement = text(sql).bindparams(bindparam("since", type_=DateTime(timezone=True)))
    params: dict[str, Any] = {"since": since}
    if ":test_name" in sql:
        params["test_name"] = test_name
    rows = (await conn.execute(statement, params)).mappings().all()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    # PostgreSQL AVG over integers gives Decimal; the report wants floats.
    return float(value) if isinstance(value, Decimal) else value


async def build_report(
    engine: AsyncEngine,
    *,
    since: datetime,
    test_name: str,
    baseline: str | None = None,
    with_samples: bool = True,
) -> Report:
    report = Report(since=since, test_name=test_name)
    async with engine.connect() as conn:
        report.variants = await run_query(conn, sql=VARIANT_SUMMARY, since=since)
        report.ab = await run_query(conn, sql=AB_COMPARISON, since=since, test_name=test_name)
        report.alerts = await run_query(conn, sql=ALERT_COUNTS, since=since)
        report.feedback = await run_query(conn, sql=FEEDBACK_ACCURACY, since=since)
        if with_samples:
            report.samples = await run_query(conn, sql=PLOT_SAMPLES, since=since)
    report.comparisons = compare_variants(report.ab, baseline)
    return report
