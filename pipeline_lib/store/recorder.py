"""The Recorder: how the client records outcomes. Never loses one, never writes one twice.

`record()` protects the outcome (encrypts text, HMACs the session id, decides alerts), appends it
to the local spool and returns once it is durable; a background writer drains the spool into the
database in batches. While the database is down the writer backs off and the spool grows; when it
is back, the spool drains. `record()` never raises because of the database.

    async with Recorder.from_settings(cfg.store) as recorder:
        await recorder.record(outcome)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from pipeline_lib.errors import PixelError
from pipeline_lib.store import migrate
from pipeline_lib.store.crypto import StoreKeys
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.protected import protect, to_line
from pipeline_lib.store.records import OutcomeRecord
from pipeline_lib.store.replay import ReplayResult, replay
from pipeline_lib.store.settings import StoreSettings
from pipeline_lib.store.spool import Spool

log = logging.getLogger(__name__)

# What "the database cannot be written right now" looks like from asyncpg/aiosqlite/SQLAlchemy.
UNAVAILABLE = (SQLAlchemyError, OSError, asyncio.TimeoutError, ConnectionError)


class RecorderClosedError(PixelError):
    """record() after close(): build a new Recorder (or keep one open for the process lifetime)."""


class Recorder:
    def __init__(self, settings: StoreSettings, *, keys: StoreKeys, engine: AsyncEngine):
        self.settings = settings
        self.keys = keys
        self.engine = engine
        self.spool = Spool(settings.spool_dir, fsync=settings.spool.durability == "fsync")
        self.last_replay = ReplayResult()
        self._ids: dict = {}
        self._drain_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task | None = None
        self._database_up = True
        self._closed = False

    @classmethod
    def from_settings(cls, settings: StoreSettings | Mapping[str, Any] | None = None) -> Recorder:
        """Build from StoreSettings or the Hydra `store` node; fails early without a key."""
        settings = StoreSettings.coerce(settings)
        keys = StoreKeys.from_settings(settings)
        engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
        return cls(settings, keys=keys, engine=engine)

    async def start(self) -> None:
        """Open the spool, replay what earlier runs left there, start the background writer.

        The embedded SQLite store migrates itself first; PostgreSQL is migrated by an operator
        (`pixel db upgrade`), never implicitly by a client.
        """
        self.spool.open()
        if self.settings.mode == "embedded" and self.engine.dialect.name == "sqlite":
            await migrate.upgrade_async(self.settings.database_url)
        await self._drain()
        self._writer = asyncio.create_task(self._write_forever(), name="pixel-store-writer")

    async def record(self, outcome: OutcomeRecord) -> None:
        """Durably accept one outcome. Raises only for an invalid record, never for the database."""
        if self._closed:
            raise RecorderClosedError("record() after close(); create and start a new Recorder")
        self.spool.append(to_line(protect(outcome, keys=self.keys, settings=self.settings)))
        await self.spool.sync()
        if self._database_up and self.spool.pending >= self.settings.spool.batch_size:
            self._wake.set()

    async def flush(self) -> int:
        """Try to write everything spooled now; returns how many outcomes are still waiting."""
        await self._drain()
        return self.spool.spooled_count()

    async def close(self) -> None:
        """Stop the writer, make one last attempt to write, and leave the rest for the next start."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
        await self._drain()
        self.spool.close()
        await self.engine.dispose()

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def _write_forever(self) -> None:
        interval = self.settings.spool.flush_interval_s
        delay = interval
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if await self._drain():
                delay = interval
            else:
                delay = min(max(delay * 2, interval), self.settings.spool.max_backoff_s)

    async def _drain(self) -> bool:
        """Seal the active spool file and replay all sealed ones; False when the database is down."""
        async with self._drain_lock:
            await self.spool.seal()
            try:
                self.last_replay = await replay(
                    spool=self.spool,
                    engine=self.engine,
                    batch_size=self.settings.spool.batch_size,
                    ids=self._ids,
                )
            except UNAVAILABLE as exc:
                if self._database_up:
                    log.warning(
                        "store database unavailable (%s%s); outcomes are kept in the spool at %s "
                        "and written when it is back",
                        type(exc).__name__,
                        ": is the schema missing? run `pixel db upgrade`"
                        if isinstance(exc, ProgrammingError)
                        else "",
                        self.spool.directory,
                    )
                self._database_up = False
                return False
            if not self._database_up:
                log.info("store database is back; spooled outcomes written")
            self._database_up = True
            return True
