"""Migrations up, down and up again on PostgreSQL and SQLite; the schema matches the models."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect, text

from pipeline_lib.store import migrate
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.models import Base

TABLES = {
    "models",
    "inference_sessions",
    "inference_requests",
    "inference_results",
    "inference_metrics",
    "ab_tests",
    "ab_test_results",
    "crisis_alerts",
    "bias_incidents",
    "performance_alerts",
    "feedback",
}
VIEWS = {"recent_inference_accuracy", "ab_test_comparison"}
HEAD = "0002"


async def _inspect(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: (set(inspect(c).get_table_names()), set(inspect(c).get_view_names()))
            )
    finally:
        await engine.dispose()


async def test_up_down_up_matches_models(any_url):
    await migrate.upgrade_async(any_url)
    tables, views = await _inspect(any_url)
    assert tables == TABLES | {"alembic_version"}
    assert views == VIEWS
    assert await migrate.current_revision(any_url) == HEAD
    assert await migrate.schema_diff(any_url) == []

    await migrate.downgrade_async(any_url, "base")
    tables, views = await _inspect(any_url)
    assert tables <= {"alembic_version"} and views == set()
    assert await migrate.current_revision(any_url) is None

    await migrate.upgrade_async(any_url)
    assert await migrate.schema_diff(any_url) == []
    assert set(Base.metadata.tables) == TABLES


async def test_schema_diff_notices_a_missing_index(any_url):
    await migrate.upgrade_async(any_url)
    engine = create_engine(any_url, pool=False)
    async with engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_feedback_request_id"))
    await engine.dispose()
    diff = await migrate.schema_diff(any_url)
    assert [entry[0] for entry in diff] == ["add_index"]


async def test_views_answer_on_an_empty_schema(any_url):
    await migrate.upgrade_async(any_url)
    engine = create_engine(any_url, pool=False)
    async with engine.connect() as conn:
        for view in VIEWS:
            assert (await conn.execute(text(f"SELECT * FROM {view}"))).all() == []
    await engine.dispose()


def test_sync_upgrade_for_the_cli(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    assert asyncio.run(migrate.current_revision(url)) == HEAD
    migrate.downgrade(url, "base")
    assert asyncio.run(migrate.current_revision(url)) is None
