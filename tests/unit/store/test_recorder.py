"""The Recorder end to end on SQLite and PostgreSQL: rows, alerts, privacy, closing."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from pipeline_lib.errors import PixelError
from pipeline_lib.store import crud, migrate
from pipeline_lib.store.crypto import StoreKeyError, StoreKeys
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.models import BiasIncident, CrisisAlert, PerformanceAlert
from pipeline_lib.store.recorder import Recorder


async def _rows(url: str, model) -> list:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(model.__table__))).mappings().all()
    finally:
        await engine.dispose()


async def test_records_every_table_and_raises_alerts(any_url, settings_for, new_outcome):
    await migrate.upgrade_async(any_url)
    settings = settings_for(any_url)
    ok = new_outcome(0)
    crisis = new_outcome(1, crisis_flag=True, safety_score=0.2)
    biased = new_outcome(2, bias_score=settings.thresholds.bias_max + 0.2)
    slow = new_outcome(3, latency_ms=settings.thresholds.latency_slo_ms * 2)
    failed = new_outcome(
        4, response_text=None, eq_scores=None, overall_eq=None, safety_score=None, bias_score=None,
        persona_mode=None, crisis_flag=None, server_time_ms=None, error_kind="unavailable",
    )
    async with Recorder.from_settings(settings) as recorder:
        for outcome in (ok, crisis, biased, slow, failed):
            await recorder.record(outcome)
        assert await recorder.flush() == 0

    engine = create_engine(any_url, pool=False)
    async with engine.connect() as conn:
        for table in ("inference_requests", "inference_results", "inference_metrics", "ab_test_results"):
            assert await crud.count_rows(conn, table=table) == 5, table
        keys = StoreKeys.from_settings(settings)
        assert await crud.read_texts(conn, keys=keys, request_id=crisis.request_id) == (
            crisis.user_text,
            crisis.response_text,
        )
    await engine.dispose()

    crisis_rows = await _rows(any_url, CrisisAlert)
    assert [(r["request_id"], r["severity"], r["status"]) for r in crisis_rows] == [
        (crisis.request_id, "high", "open")
    ]
    assert crisis_rows[0]["session_hash"] == keys.session_hash(crisis.session_id)
    assert [r["request_id"] for r in await _rows(any_url, BiasIncident)] == [biased.request_id]
    perf = await _rows(any_url, PerformanceAlert)
    assert [(r["request_id"], r["metric"]) for r in perf] == [(slow.request_id, "latency_ms")]


async def test_recording_twice_stores_once(sqlite_url, settings_for, new_outcome):
    await migrate.upgrade_async(sqlite_url)
    outcome = new_outcome(crisis_flag=True)
    async with Recorder.from_settings(settings_for(sqlite_url)) as recorder:
        await recorder.record(outcome)
        assert await recorder.flush() == 0
        await recorder.record(outcome)  # e.g. a client retrying the hand-over
        assert await recorder.flush() == 0
    assert len(await _rows(sqlite_url, CrisisAlert)) == 1
    engine = create_engine(sqlite_url, pool=False)
    async with engine.connect() as conn:
        assert await crud.count_rows(conn, table="inference_requests") == 1
    await engine.dispose()


async def test_postgres_dump_holds_no_user_text_and_no_session_id(
    pg_database, settings_for, new_outcome
):
    await migrate.upgrade_async(pg_database)
    settings = settings_for(pg_database)
    outcomes = [new_outcome(i, crisis_flag=i == 0) for i in range(20)]
    async with Recorder.from_settings(settings) as recorder:
        for outcome in outcomes:
            await recorder.record(outcome)
        assert await recorder.flush() == 0
    database = pg_database.rsplit("/", 1)[1]
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--inserts", database],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "inference_requests" in dump and outcomes[0].request_id in dump  # the dump has the rows
    for outcome in outcomes:
        assert outcome.user_text not in dump
        assert outcome.response_text not in dump
        assert outcome.session_id not in dump
    assert "hopeless" not in dump


async def test_dropped_text_is_not_stored_at_all(sqlite_url, settings_for, new_outcome, tmp_path):
    from dataclasses import replace

    await migrate.upgrade_async(sqlite_url)
    settings = settings_for(sqlite_url)
    settings = replace(settings, privacy=replace(settings.privacy, text="drop"))
    outcome = new_outcome()
    async with Recorder.from_settings(settings) as recorder:
        await recorder.record(outcome)
        await recorder.flush()
    engine = create_engine(sqlite_url, pool=False)
    async with engine.connect() as conn:
        keys = StoreKeys.from_settings(settings)
        assert await crud.read_texts(conn, keys=keys, request_id=outcome.request_id) == (None, None)
    await engine.dispose()
    assert b"hopeless" not in (tmp_path / "pixel.db").read_bytes()


async def test_production_mode_without_a_key_refuses_to_start(sqlite_url, settings_for, tmp_path):
    settings = settings_for(sqlite_url, mode="production")
    with pytest.raises(StoreKeyError, match="pixel db keygen"):
        Recorder.from_settings(settings)
    assert not (tmp_path / "store.key").exists()


async def test_record_after_close_is_refused(sqlite_url, settings_for, new_outcome):
    await migrate.upgrade_async(sqlite_url)
    recorder = Recorder.from_settings(settings_for(sqlite_url))
    async with recorder:
        pass
    with pytest.raises(PixelError, match="after close"):
        await recorder.record(new_outcome())


async def test_embedded_sqlite_store_migrates_itself(sqlite_url, settings_for, new_outcome):
    async with Recorder.from_settings(settings_for(sqlite_url)) as recorder:
        await recorder.record(new_outcome())
        assert await recorder.flush() == 0
    assert await migrate.current_revision(sqlite_url) == "0002"


async def test_postgres_without_schema_keeps_outcomes_in_the_spool(
    pg_database, settings_for, new_outcome, caplog
):
    outcome = new_outcome()
    async with Recorder.from_settings(settings_for(pg_database)) as recorder:
        await recorder.record(outcome)
        assert await recorder.flush() == 1  # no tables yet: nothing written, nothing lost
        assert "pixel db upgrade" in caplog.text
        await migrate.upgrade_async(pg_database)
        assert await recorder.flush() == 0
    assert [r["request_id"] for r in await _rows(pg_database, CrisisAlert)] == []
    engine = create_engine(pg_database, pool=False)
    async with engine.connect() as conn:
        assert await crud.count_rows(conn, table="inference_requests") == 1
    await engine.dispose()
