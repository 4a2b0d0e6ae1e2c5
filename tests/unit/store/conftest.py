"""Fixtures for the store tests: throwaway PostgreSQL databases, SQLite files, settings, records,
and a TCP proxy in front of PostgreSQL that a test stops and starts to make the database vanish."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest

from pipeline_lib.store.records import OutcomeRecord
from pipeline_lib.store.settings import StoreSettings

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def pg_url(database: str, port: int = PG_PORT) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{port}/{database}"


@pytest.fixture(scope="session")
async def pg_databases():
    """Factory: `name = await pg_databases()` creates an empty database; all are dropped at the end."""
    created: list[str] = []

    async def create() -> str:
        name = f"pixel_test_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        created.append(name)
        return name

    yield create
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pg_database(pg_databases) -> str:
    """URL of a fresh, empty PostgreSQL database."""
    return pg_url(await pg_databases())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'pixel.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_url(request, tmp_path: Path, pg_databases) -> str:
    """Runs the test once on SQLite and once on PostgreSQL (a fresh, empty database each time)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pixel.db'}"
    return pg_url(await pg_databases())


@pytest.fixture
def settings_for(tmp_path: Path):
    """`settings_for(url, **changes)`: settings with spool and key file under tmp_path."""
    return lambda url, **changes: make_settings(tmp_path, url, **changes)


@pytest.fixture
def new_outcome():
    """`new_outcome(index, **changes)`: a valid OutcomeRecord with a fresh request and session id."""
    return make_outcome


def make_settings(tmp_path: Path, url: str, **changes) -> StoreSettings:
    settings = StoreSettings.from_mapping(
        {
            "url": url,
            "spool": {"dir": str(tmp_path / "spool"), "flush_interval_s": 0.05, "max_backoff_s": 0.2},
            "privacy": {"key_file": str(tmp_path / "store.key"), "key_env": "PIXEL_TEST_NO_SUCH_KEY"},
        }
    )
    return replace(settings, **changes)


SAMPLE_SENTENCE = "I have been feeling hopeless since my sister moved away"


def make_outcome(index: int = 0, **changes) -> OutcomeRecord:
    values = dict(
        request_id=uuid.uuid4().hex,
        session_id=f"raw-session-{uuid.uuid4()}",
        variant="control" if index % 2 else "candidate",
        model_name="pixel",
        model_version="1",
        context_type="general",
        user_text=f"{SAMPLE_SENTENCE} ({index})",
        response_text="That sounds really hard. Would you like to talk about what changed?",
        eq_scores=(0.6, 0.7, 0.5, 0.8, 0.6),
        overall_eq=0.64,
        safety_score=0.95,
        bias_score=0.05,
        persona_mode="therapist",
        crisis_flag=False,
        server_time_ms=180.0,
        latency_ms=210.0,
        cache_hit=False,
        error_kind=None,
        created_at=datetime.now(timezone.utc),
    )
    values.update(changes)
    return OutcomeRecord(**values)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL; `stop()` refuses new and cuts live connections."""

    def __init__(self, target_port: int = PG_PORT):
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, PG_HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(PG_HOST, self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def pg_proxy():
    proxy = TcpProxy()
    await proxy.start()
    yield proxy
    if proxy._server is not None and proxy._server.is_serving():
        await proxy.stop()
