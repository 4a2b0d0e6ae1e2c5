"""Database reads and writes of the store. Every function takes its arguments by keyword.

`write_outcomes` is the one write path (live and replay): one transaction per batch, every insert
`ON CONFLICT DO NOTHING` on the request id, child rows only for requests this batch inserted. So a
batch written twice (a replay after a crash) changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from pipeline_lib.store.crypto import StoreKeys
from pipeline_lib.store.models import (
    AbTest,
    AbTestResult,
    Base,
    BiasIncident,
    CrisisAlert,
    Feedback,
    InferenceMetric,
    InferenceRequest,
    InferenceResult,
    InferenceSession,
    Model,
    PerformanceAlert,
)
from pipeline_lib.store.protected import PROVENANCE_FIELDS, created_at, decode_blob
from pipeline_lib.store.records import EQ_DIMENSIONS

ALERT_TABLES = {
    "crisis_alerts": CrisisAlert.__table__,
    "bias_incidents": BiasIncident.__table__,
    "performance_alerts": PerformanceAlert.__table__,
}


def _insert_ignoring_conflicts(conn: AsyncConnection, table: Table):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


async def ensure_model(conn: AsyncConnection, *, name: str, version: str, seen_at: datetime) -> int:
    table = Model.__table__
    await conn.execute(
        _insert_ignoring_conflicts(conn, table), [{"name": name, "version": version, "first_seen_at": seen_at}]
    )
    query = select(table.c.id).where(table.c.name == name, table.c.version == version)
    return (await conn.execute(query)).scalar_one()


async def ensure_ab_test(conn: AsyncConnection, *, name: str, started_at: datetime) -> int:
    table = AbTest.__table__
    await conn.execute(
        _insert_ignoring_conflicts(conn, table), [{"name": name, "started_at": started_at}]
    )
    return (await conn.execute(select(table.c.id).where(table.c.name == name))).scalar_one()


async def write_outcomes(
    conn: AsyncConnection, *, outcomes: Sequence[dict[str, Any]], ids: dict[tuple, int] | None = None
) -> int:
    """Insert protected outcomes (see protected.py); returns how many were new.

    `ids` caches model and A/B-test ids between calls; pass the same dict for one database.
    The caller owns the transaction.
    """
    ids = {} if ids is None else ids
    unique = list({o["request_id"]: o for o in outcomes}.values())
    if not unique:
        return 0
    sessions: dict[str, datetime] = {}
    for o in unique:
        at = created_at(o)
        sessions[o["session_hash"]] = min(at, sessions.get(o["session_hash"], at))
    await conn.execute(
        _insert_ignoring_conflicts(conn, InferenceSession.__table__),
        [{"session_hash": h, "first_seen_at": at} for h, at in sessions.items()],
    )
    request_rows = []
    for o in unique:
        model_key = ("model", o["model_name"], o["model_version"])
        if model_key not in ids:
            ids[model_key] = await ensure_model(
                conn, name=o["model_name"], version=o["model_version"], seen_at=created_at(o)
            )
        request_rows.append(
            {
                "request_id": o["request_id"],
                "session_hash": o["session_hash"],
                "model_id": ids[model_key],
                "variant": o["variant"],
                "context_type": o["context_type"],
                "user_text_enc": decode_blob(o["user_text_enc"]),
                "created_at": created_at(o),
            }
        )
    table = InferenceRequest.__table__
    inserted = await conn.execute(
        _insert_ignoring_conflicts(conn, table).returning(table.c.request_id), request_rows
    )
    new_ids = set(inserted.scalars().all())
    fresh = [o for o in unique if o["request_id"] in new_ids]
    if fresh:
        await _write_children(conn, fresh, ids)
    return len(fresh)


async def _write_children(conn: AsyncConnection, outcomes: list[dict[str, Any]], ids: dict) -> None:
    results, metrics, ab_rows = [], [], []
    alerts: dict[str, list[dict[str, Any]]] = {name: [] for name in ALERT_TABLES}
    for o in outcomes:
        at = created_at(o)
        eq = o["eq_scores"] or [None] * len(EQ_DIMENSIONS)
        results.append(
            {
                "request_id": o["request_id"],
                "response_text_enc": decode_blob(o["response_text_enc"]),
                **{f"eq_{name}": value for name, value in zip(EQ_DIMENSIONS, eq, strict=True)},
                **{k: o[k] for k in ("overall_eq", "safety_score", "bias_score", "persona_mode")},
                "crisis_flag": o["crisis_flag"],
                **{k: o.get(k) for k in PROVENANCE_FIELDS},  # absent from version-1 spool lines
            }
        )
        metrics.append(
            {k: o[k] for k in ("request_id", "latency_ms", "server_time_ms", "cache_hit", "error_kind")}
        )
        test_key = ("ab_test", o["ab_test"])
        if test_key not in ids:
            ids[test_key] = await ensure_ab_test(conn, name=o["ab_test"], started_at=at)
        ab_rows.append(
            {
                "request_id": o["request_id"],
                "ab_test_id": ids[test_key],
                "variant": o["variant"],
                **{k: o[k] for k in ("overall_eq", "safety_score", "bias_score", "latency_ms")},
                "crisis_flag": o["crisis_flag"],
                "is_error": o["error_kind"] is not None,
                "created_at": at,
            }
        )
        for alert in o["alerts"]:
            row = {k: v for k, v in alert.items() if k != "table"}
            row.update(request_id=o["request_id"], created_at=at)
            if alert["table"] == "crisis_alerts":
                row.update(session_hash=o["session_hash"], status="open")
            alerts[alert["table"]].append(row)
    for table, rows in (
        (InferenceResult.__table__, results),
        (InferenceMetric.__table__, metrics),
        (AbTestResult.__table__, ab_rows),
        *((ALERT_TABLES[name], rows) for name, rows in alerts.items()),
    ):
        if rows:
            await conn.execute(_insert_ignoring_conflicts(conn, table), rows)


async def add_feedback(
    conn: AsyncConnection,
    *,
    request_id: str,
    rating: int,
    crisis_confirmed: bool | None = None,
    reviewer: str | None = None,
    created_at: datetime | None = None,
) -> None:
    await conn.execute(
        Feedback.__table__.insert(),
        [
            {
                "request_id": request_id,
                "rating": rating,
                "crisis_confirmed": crisis_confirmed,
                "reviewer": reviewer,
                "created_at": created_at or datetime.now(timezone.utc),
            }
        ],
    )


async def count_rows(conn: AsyncConnection, *, table: str) -> int:
    return (await conn.execute(select(func.count()).select_from(Base.metadata.tables[table]))).scalar_one()


async def read_texts(
    conn: AsyncConnection, *, keys: StoreKeys, request_id: str
) -> tuple[str | None, str | None]:
    """Decrypt one request's user text and response (for an authorised reviewer holding the key)."""
    req, res = InferenceRequest.__table__, InferenceResult.__table__
    row = (
        await conn.execute(
            select(req.c.user_text_enc, res.c.response_text_enc)
            .select_from(req.outerjoin(res, res.c.request_id == req.c.request_id))
            .where(req.c.request_id == request_id)
        )
    ).one()

    def open_(blob: bytes | None, column: str) -> str | None:
        return None if blob is None else keys.decrypt(blob, request_id=request_id, column=column)

    return open_(row[0], "user_text"), open_(row[1], "response_text")
