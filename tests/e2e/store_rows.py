"""An embedded SQLite store for the e2e tests that record outcomes, and a way to read it back."""

from __future__ import annotations

from sqlalchemy import select

from pipeline_lib.store import migrate
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.settings import StoreSettings


async def sqlite_store(folder) -> tuple[str, StoreSettings]:
    """(database URL, settings) of a migrated SQLite store in `folder`, with its own key."""
    url = f"sqlite+aiosqlite:///{folder / 'pixel.db'}"
    await migrate.upgrade_async(url)
    return url, StoreSettings.from_mapping({
        "url": url,
        "spool": {"dir": str(folder / "spool"), "flush_interval_s": 0.05},
        "privacy": {"key_file": str(folder / "store.key"), "key_env": "PIXEL_E2E_NO_SUCH_KEY"},
    })


async def rows(url: str, model, request_id: str | None = None) -> list:
    """A table's rows (those of one request when `request_id` is given)."""
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            query = select(model.__table__)
            if request_id is not None:
                query = query.where(model.__table__.c.request_id == request_id)
            return (await conn.execute(query)).mappings().all()
    finally:
        await engine.dispose()
