"""Run the Alembic migrations in `migrations/` from code (what `pixel db` calls).

Alembic is configured here rather than from an ini file, so the URL always comes from the store
settings. The `_async` variants run inside an existing event loop by handing Alembic a connection.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from pipeline_lib.checkpoints import project_root
from pipeline_lib.store.engine import create_engine, normalise_url
from pipeline_lib.store.models import Base

MIGRATIONS_DIR = project_root() / "migrations"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Through attributes, not set_main_option: ConfigParser would choke on '%' in passwords.
    config.attributes["url"] = normalise_url(url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(url), revision)


async def _with_connection(url: str, work) -> Any:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(work)
            await connection.commit()
            return result
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head") -> None:
    await _with_connection(url, lambda c: command.upgrade(alembic_config(url, c), revision))


async def downgrade_async(url: str, revision: str = "-1") -> None:
    await _with_connection(url, lambda c: command.downgrade(alembic_config(url, c), revision))


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    return await _with_connection(
        url, lambda c: MigrationContext.configure(c).get_current_revision()
    )


async def schema_diff(url: str) -> list:
    """Differences between the migrated database and the models (empty when they agree)."""

    def compare(connection: Connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    return await _with_connection(url, compare)
