"""The write path on its own: one batch written twice changes nothing; feedback and the views."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from pipeline_lib.store import crud, migrate
from pipeline_lib.store.crypto import StoreKeys
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.protected import protect


async def test_the_same_batch_twice_is_stored_once(any_url, settings_for, new_outcome):
    await migrate.upgrade_async(any_url)
    settings = settings_for(any_url)
    keys = StoreKeys.from_master(b"k" * 32)
    batch = [protect(new_outcome(i, crisis_flag=True), keys=keys, settings=settings) for i in range(5)]
    engine = create_engine(any_url)
    async with engine.begin() as conn:
        assert await crud.write_outcomes(conn, outcomes=batch) == 5
    async with engine.begin() as conn:
        assert await crud.write_outcomes(conn, outcomes=batch + batch[:2]) == 0
    async with engine.connect() as conn:
        for table in ("inference_requests", "inference_results", "crisis_alerts", "ab_test_results"):
            assert await crud.count_rows(conn, table=table) == 5
        assert await crud.count_rows(conn, table="models") == 1
    await engine.dispose()


async def test_feedback_feeds_the_accuracy_view(any_url, settings_for, new_outcome):
    await migrate.upgrade_async(any_url)
    settings = settings_for(any_url)
    keys = StoreKeys.from_master(b"k" * 32)
    flagged, missed = new_outcome(1, crisis_flag=True), new_outcome(3, crisis_flag=False)
    engine = create_engine(any_url)
    async with engine.begin() as conn:
        await crud.write_outcomes(
            conn, outcomes=[protect(o, keys=keys, settings=settings) for o in (flagged, missed)]
        )
        await crud.add_feedback(conn, request_id=flagged.request_id, rating=5, crisis_confirmed=True)
        await crud.add_feedback(conn, request_id=missed.request_id, rating=2, crisis_confirmed=True)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM recent_inference_accuracy"))).mappings().one()
        assert (row["requests"], row["ratings"]) == (2, 2)
        assert float(row["acceptable_rate"]) == 0.5 and float(row["crisis_recall"]) == 0.5
        ab = (await conn.execute(text("SELECT * FROM ab_test_comparison"))).mappings().one()
        assert (ab["test_name"], ab["requests"], ab["crisis_count"]) == ("pixel-ab", 2, 1)
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await crud.add_feedback(conn, request_id=flagged.request_id, rating=9)
    await engine.dispose()
