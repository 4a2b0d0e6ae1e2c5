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
from pipeline_lib.store.spool import Spool, SpoolUsage

log = logging.getLogger(__name__)

# What "the database cannot be written right now" looks like from asyncpg/aiosqlite/SQLAlchemy.
UNAVAILABLE = (SQLAlchemyError, OSError, asyncio.TimeoutError, ConnectionError)


class SpoolFullError(PixelError):
    """The outcome spool reached store.spool.max_bytes with at_cap=fail_closed: no new calls
    until the database is back and the spool drains."""


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
        self.usage = SpoolUsage()  # refreshed at each drain, counted up by each append
        self.dropped = 0  # outcomes dropped at the cap (at_cap=drop_newest only), each logged
        self._near_cap = False

    # -- the spool's disk cap ------------------------------------------------------------------
    @property
    def near_cap(self) -> bool:
        spool = self.settings.spool
        return self.usage.bytes >= spool.near_cap_fraction * spool.max_bytes

    @property
    def at_cap(self) -> bool:
        return self.usage.bytes >= self.settings.spool.max_bytes

    @property
    def accepting(self) -> bool:
        """False while fail_closed holds new calls back (the spool is at its cap)."""
        return not (self.at_cap and self.settings.spool.at_cap == "fail_closed")

    def check_accepting(self) -> None:
        if not self.accepting:
            raise SpoolFullError(
                f"the outcome spool in {self.spool.directory} holds {self.usage.records} outcomes "
                f"({self.usage.bytes} bytes, cap store.spool.max_bytes="
                f"{self.settings.spool.max_bytes}) the database has not taken yet; new calls are "
                "refused until it drains: bring the database back (`pixel db upgrade` if new)")

    def _note_usage(self) -> None:
        if self.near_cap != self._near_cap:
            self._near_cap = self.near_cap
            (log.warning if self._near_cap else log.info)(
                "outcome spool %s its cap: %d outcomes, %d of %d bytes",
                "near" if self._near_cap else "back below", self.usage.records,
                self.usage.bytes, self.settings.spool.max_bytes)

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
        line = to_line(protect(outcome, keys=self.keys, settings=self.settings))
        spool = self.settings.spool
        if spool.at_cap == "drop_newest" and self.usage.bytes + len(line) > spool.max_bytes:
            self.dropped += 1
            log.error("outcome spool at its cap (%d bytes): outcome %s dropped, %d so far "
                      "(store.spool.at_cap=drop_newest)", spool.max_bytes, outcome.request_id,
                      self.dropped)
            return
        # fail_closed: calls admitted before the cap was reached are still recorded (the cap is
        # exceeded by at most the calls in flight); new ones are refused by check_accepting.
        self.spool.append(line)
        self.usage = self.usage.plus(line)
        self._note_usage()
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
                self.usage = self.spool.usage()
                self._note_usage()
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
            self.usage = self.spool.usage()
            self._note_usage()
            if not self._database_up:
                log.info("store database is back; spooled outcomes written")
            self._database_up = True
            return True
