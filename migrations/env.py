"""Alembic environment for the outcome store (async engines: asyncpg and aiosqlite).

The URL comes from `config.attributes["url"]` (set by pipeline_lib.store.migrate) or else from the
store settings. When a caller already holds a connection (async code that runs migrations through
`run_sync`), it passes it in `config.attributes["connection"]` and we use it directly instead of
starting a second event loop.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.models import Base
from pipeline_lib.store.settings import StoreSettings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("url") or StoreSettings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for later migrations.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url(), pool=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    asyncio.run(_run_async())
