"""Reply provenance (reply_persona, crisis_reply_mode, finish_reason): migration 0002 up and down
with data in the tables, the write path, and spool lines written before the columns existed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, select, text

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.store import crud, migrate
from pipeline_lib.store.crypto import StoreKeys
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.models import InferenceResult
from pipeline_lib.store.protected import PROVENANCE_FIELDS, protect

KEYS = StoreKeys.from_master(b"k" * 32)
OLD_ID = "0" * 32


async def _columns(url: str) -> set[str]:
    engine = create_engine(url, pool=False)
    async with engine.connect() as conn:
        names = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("inference_results")})
    await engine.dispose()
    return names


async def _provenance(url: str) -> dict[str, tuple]:
    table = InferenceResult.__table__
    engine = create_engine(url, pool=False)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(table.c.request_id, table.c.persona_mode,
                                          *(table.c[name] for name in PROVENANCE_FIELDS)))).all()
    await engine.dispose()
    return {row[0]: tuple(row[1:]) for row in rows}


async def _insert_a_0001_row(url: str) -> None:
    """What a store at revision 0001 holds: written with that schema's columns only."""
    now = datetime(2026, 11, 30, tzinfo=timezone.utc)
    engine = create_engine(url, pool=False)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO models (id, name, version, first_seen_at) "
                                "VALUES (1, 'pixel', '1', :t)"), {"t": now})
        await conn.execute(text("INSERT INTO inference_sessions VALUES ('h', :t)"), {"t": now})
        await conn.execute(
            text("INSERT INTO inference_requests (request_id, session_hash, model_id, variant, "
                 "context_type, created_at) VALUES (:id, 'h', 1, 'control', 'general', :t)"),
            {"id": OLD_ID, "t": now})
        await conn.execute(
            text("INSERT INTO inference_results (request_id, persona_mode, crisis_flag) "
                 "VALUES (:id, 'calm', false)"), {"id": OLD_ID})
    await engine.dispose()


async def test_0002_adds_nullable_columns_and_keeps_the_data_both_ways(any_url, settings_for,
                                                                        new_outcome):
    await migrate.upgrade_async(any_url, "0001")
    await _insert_a_0001_row(any_url)
    assert not set(PROVENANCE_FIELDS) & await _columns(any_url)

    await migrate.upgrade_async(any_url)
    assert await migrate.current_revision(any_url) == "0002"
    assert set(PROVENANCE_FIELDS) <= await _columns(any_url)
    assert (await _provenance(any_url))[OLD_ID] == ("calm", None, None, None)

    outcome = new_outcome(1, reply_persona="crisis_support", crisis_reply_mode="generated",
                          finish_reason="length")
    engine = create_engine(any_url)
    async with engine.begin() as conn:
        await crud.write_outcomes(conn, outcomes=[
            protect(outcome, keys=KEYS, settings=settings_for(any_url))])
    await engine.dispose()
    assert (await _provenance(any_url))[outcome.request_id] == (
        "therapist", "crisis_support", "generated", "length")

    await migrate.downgrade_async(any_url, "0001")
    assert not set(PROVENANCE_FIELDS) & await _columns(any_url)
    engine = create_engine(any_url, pool=False)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT request_id, persona_mode FROM inference_results "
                                        "ORDER BY request_id"))).all()
        views = (await conn.execute(text("SELECT COUNT(*) FROM ab_test_comparison"))).scalar()
    await engine.dispose()
    assert sorted(rows) == sorted([(OLD_ID, "calm"), (outcome.request_id, "therapist")])
    assert views == 1  # the views over inference_results still answer

    await migrate.upgrade_async(any_url)
    assert await migrate.schema_diff(any_url) == []


async def test_spool_lines_from_before_the_columns_still_replay(any_url, settings_for,
                                                               new_outcome):
    await migrate.upgrade_async(any_url)
    settings = settings_for(any_url)
    old = protect(new_outcome(2), keys=KEYS, settings=settings)
    for name in PROVENANCE_FIELDS:
        del old[name]
    old["v"] = 1
    engine = create_engine(any_url)
    async with engine.begin() as conn:
        assert await crud.write_outcomes(conn, outcomes=[old]) == 1
    await engine.dispose()
    assert (await _provenance(any_url))[old["request_id"]] == ("therapist", None, None, None)


def test_the_record_checks_the_new_fields(new_outcome, settings_for):
    record = new_outcome(3, reply_persona="crisis_support", crisis_reply_mode="configured",
                         finish_reason="stop")
    line = protect(record, keys=KEYS, settings=settings_for("sqlite+aiosqlite:///x.db"))
    assert line["v"] == 2 and line["crisis_reply_mode"] == "configured"
    assert new_outcome(4).reply_persona is None  # older callers need not know the fields
    with pytest.raises(InvalidInputError, match="crisis_reply_mode: must be at most 32"):
        new_outcome(5, crisis_reply_mode="x" * 33)
