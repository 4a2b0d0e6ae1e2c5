"""No loss, no duplicates: 10,000 outcomes through a PostgreSQL outage, and a crash mid-replay."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text

from pipeline_lib.store import crud, migrate
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.models import AbTestResult, InferenceRequest
from pipeline_lib.store.recorder import Recorder
from pipeline_lib.store.spool import read_segment

COUNT = 10_000
CONCURRENCY = 500  # records in flight at once, as a busy client would have
PIXEL_MAIN = "import sys; from pipeline_lib.cli import main; sys.exit(main(sys.argv[1:]))"


async def _record_all(recorder: Recorder, outcomes) -> None:
    for start in range(0, len(outcomes), CONCURRENCY):
        await asyncio.gather(*(recorder.record(o) for o in outcomes[start : start + CONCURRENCY]))


async def _stored_ids(url: str) -> list[str]:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            table = InferenceRequest.__table__
            return list((await conn.execute(select(table.c.request_id))).scalars())
    finally:
        await engine.dispose()


async def _count(url: str, table: str) -> int:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            return await crud.count_rows(conn, table=table)
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_ten_thousand_outcomes_survive_a_database_outage(
    pg_database, pg_proxy, settings_for, new_outcome
):
    await migrate.upgrade_async(pg_database)
    proxied = pg_database.replace(":5432/", f":{pg_proxy.port}/")
    outcomes = [new_outcome(i, crisis_flag=i % 100 == 0) for i in range(COUNT)]

    async with Recorder.from_settings(settings_for(proxied)) as recorder:
        await recorder.record(outcomes[0])
        assert await recorder.flush() == 0  # through the proxy while it is up
        await pg_proxy.stop()  # the database vanishes: refused connections, cut sessions
        await _record_all(recorder, outcomes[1:])
        assert await recorder.flush() == COUNT - 1  # nothing written, everything spooled
        assert await _count(pg_database, "inference_requests") == 1

        await pg_proxy.start()  # the database is back on the same address
        assert await recorder.flush() == 0

    ids = await _stored_ids(pg_database)
    assert len(ids) == COUNT
    assert set(ids) == {o.request_id for o in outcomes}
    assert await _count(pg_database, "ab_test_results") == COUNT
    assert await _count(pg_database, "crisis_alerts") == COUNT // 100


async def _spool_while_down(settings, outcomes) -> None:
    """Record everything against a database that is not there; leaves sealed spool segments."""
    async with Recorder.from_settings(settings) as recorder:
        await _record_all(recorder, outcomes)
        assert await recorder.flush() == len(outcomes)


async def _wait_for_blocked_backend(url: str, process: subprocess.Popen) -> None:
    # The replaying process waits on a row lock we hold; poll until PostgreSQL shows it waiting.
    database = url.rsplit("/", 1)[1]
    engine = create_engine(url.replace(f"/{database}", "/postgres"), pool=False)
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
    )
    try:
        async with engine.connect() as conn:
            for _ in range(6000):
                waiting = (await conn.execute(query, {"db": database})).scalar_one()
                await conn.rollback()  # pg_stat_activity is a snapshot per transaction
                if waiting:
                    return
                if process.poll() is not None:
                    raise AssertionError(f"replay exited early: {process.stderr.read()[-2000:]}")
                await asyncio.sleep(0.01)
    finally:
        await engine.dispose()
    raise AssertionError("the replay subprocess never reached the locked row")


@pytest.mark.slow
async def test_crash_mid_replay_then_replay_again_gives_exactly_once(
    pg_database, settings_for, new_outcome, tmp_path, unused_tcp_port
):
    await migrate.upgrade_async(pg_database)
    batch = 500
    outcomes = [new_outcome(i) for i in range(COUNT)]
    closed_port = pg_database.replace(":5432/", f":{unused_tcp_port}/")
    settings = settings_for(closed_port)
    await _spool_while_down(settings, outcomes)

    # Hold an uncommitted insert of the request that is first in the 4th batch: the replay commits
    # batches 1-3, then blocks on that row. Then we kill it: a crash mid-replay, at a known point.
    victim = outcomes[3 * batch]
    engine = create_engine(pg_database, pool=False)
    now = datetime.now(timezone.utc)
    async with engine.connect() as blocker:
        model_id = await crud.ensure_model(blocker, name="pixel", version="1", seen_at=now)
        await crud.ensure_ab_test(blocker, name=settings.ab_test, started_at=now)
        await blocker.commit()
        await blocker.execute(
            text("INSERT INTO inference_sessions VALUES (:h, :t)"), {"h": "blocker", "t": now}
        )
        await blocker.execute(
            InferenceRequest.__table__.insert(),
            [dict(request_id=victim.request_id, session_hash="blocker", model_id=model_id,
                  variant="x", context_type="x", user_text_enc=None, created_at=now)],
        )
        replayer = subprocess.Popen(
            [sys.executable, "-c", PIXEL_MAIN, "db", "replay", "--url", pg_database,
             "--spool-dir", str(settings.spool_dir), "--set", f"spool.batch_size={batch}"],
            env={**os.environ, "PIXEL_STATE_DIR": str(tmp_path)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            await _wait_for_blocked_backend(pg_database, replayer)
        finally:
            replayer.send_signal(signal.SIGKILL)
            replayer.wait()
        await blocker.rollback()
    await engine.dispose()

    committed = set(await _stored_ids(pg_database))
    assert len(committed) == 3 * batch  # batches 1-3 committed before the crash
    spooled = {
        line["request_id"] for path in settings.spool_dir.glob("*.jsonl") for line in read_segment(path)
    }
    # Nothing lost: what the database lacks is still on disk (segments are deleted only when done).
    assert committed | spooled == {o.request_id for o in outcomes}
    assert victim.request_id in spooled

    async with Recorder.from_settings(settings_for(pg_database)) as recorder:  # start-up replays
        assert await recorder.flush() == 0
        assert recorder.last_replay.outcomes == 0  # start() already did it
    ids = await _stored_ids(pg_database)
    assert len(ids) == COUNT and set(ids) == {o.request_id for o in outcomes}
    engine = create_engine(pg_database, pool=False)
    async with engine.connect() as conn:
        per_request = select(AbTestResult.__table__.c.request_id, func.count()).group_by(
            AbTestResult.__table__.c.request_id
        ).having(func.count() > 1)
        assert (await conn.execute(per_request)).all() == []
        assert await crud.count_rows(conn, table="ab_test_results") == COUNT
    await engine.dispose()
