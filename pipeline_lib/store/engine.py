"""Async engines for the store: asyncpg for PostgreSQL, aiosqlite for the embedded SQLite file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from pipeline_lib.errors import ConfigError

DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `sqlite://` and pick the async driver the store uses."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in DRIVERS:
        raise ConfigError(f"store.url: backend {backend!r} is not supported; use PostgreSQL or SQLite")
    return parsed.set(drivername=DRIVERS[backend]).render_as_string(hide_password=False)


def create_engine(url: str, *, pool: bool = True, connect_timeout_s: float = 3.0) -> AsyncEngine:
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["connect_args"] = {"timeout": connect_timeout_s}
        kwargs["pool_pre_ping"] = True
    if not pool:
        kwargs["poolclass"] = NullPool
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers (pixel report) run beside the writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
