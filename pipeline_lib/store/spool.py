"""A durable, append-only local spool of protected outcomes (JSON lines), in segments.

Every outcome is appended here before the database sees it (a write-ahead log), so a crash at any
point loses nothing: what the database has not committed is still on disk. Files in the directory:

    active-<pid>-<id>.jsonl   being appended to; its owner holds an exclusive flock on it
    seg-<time_ns>-<pid>-<id>.jsonl   sealed: complete, waiting to be written to the database

A sealed segment is deleted only after the database has committed all of it. An active file whose
owner died (its flock is free) is adopted as sealed on the next replay, by any process.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_lib.errors import PixelError

log = logging.getLogger(__name__)


class SpoolWriteError(PixelError):
    """The local spool cannot be written (disk full, permissions); the message names the path."""


@dataclass(frozen=True)
class SpoolUsage:
    records: int = 0
    bytes: int = 0

    def plus(self, line: bytes) -> SpoolUsage:
        return SpoolUsage(self.records + 1, self.bytes + len(line))


class Spool:
    def __init__(self, directory: Path, *, fsync: bool = True):
        self.directory = Path(directory)
        self.fsync = fsync
        self._fd: int | None = None
        self._active: Path | None = None
        self._appended = 0  # lines in the active file
        self._active_bytes = 0
        self._counted: dict[tuple[str, int], int] = {}  # (file, size) -> lines, for usage()
        self._written_seq = 0
        self._synced_seq = 0
        self._sync_task: asyncio.Task | None = None

    # -- appending (one owner process) -------------------------------------------------------

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"active-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        self._active = self.directory / name
        self._fd = os.open(self._active, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._appended = 0
        self._active_bytes = 0
        _fsync_dir(self.directory)

    @property
    def pending(self) -> int:
        """Lines appended to the active file since it was opened."""
        return self._appended

    def append(self, line: bytes) -> None:
        """Write one line; after this returns, a crash of this process cannot lose it."""
        try:
            if self._fd is None:
                self.open()
            os.write(self._fd, line)
        except OSError as exc:
            raise SpoolWriteError(
                f"cannot append to the outcome spool in {self.directory}: {exc.strerror}; "
                "free disk space or fix the directory's permissions"
            ) from exc
        self._appended += 1
        self._active_bytes += len(line)
        self._written_seq += 1

    async def sync(self) -> None:
        """Wait until everything appended so far is on stable storage (group commit)."""
        if not self.fsync:
            return
        target = self._written_seq
        while self._synced_seq < target:
            if self._sync_task is None:
                self._sync_task = asyncio.create_task(self._fsync_now())
            await asyncio.shield(self._sync_task)

    async def _fsync_now(self) -> None:
        seq, fd = self._written_seq, self._fd
        try:
            if fd is not None:
                await asyncio.to_thread(os.fsync, fd)
            self._synced_seq = max(self._synced_seq, seq)
        except OSError as exc:
            raise SpoolWriteError(
                f"cannot flush the outcome spool in {self.directory} to disk: {exc.strerror}; "
                "check the disk"
            ) from exc
        finally:
            self._sync_task = None

    async def seal(self) -> Path | None:
        """Close the active file as a sealed segment and start a new one; None when it was empty."""
        if self._fd is None or self._appended == 0:
            return None
        if self._sync_task is not None:
            await asyncio.shield(self._sync_task)
        # No awaits from here on: appends cannot interleave with the rotation.
        os.fsync(self._fd)
        self._synced_seq = self._written_seq
        sealed = self.directory / _sealed_name()
        os.rename(self._active, sealed)
        os.close(self._fd)  # releases the flock after the rename, so nobody adopts it twice
        self._fd = None
        self.open()
        return sealed

    def close(self) -> None:
        """Seal what was written (synchronously) and stop appending."""
        if self._fd is None:
            return
        os.fsync(self._fd)
        if self._appended:
            os.rename(self._active, self.directory / _sealed_name())
        else:
            os.unlink(self._active)
        os.close(self._fd)
        self._fd = None
        _fsync_dir(self.directory)

    # -- reading sealed segments (any process) -------------------------------------------------

    def sealed_segments(self) -> list[Path]:
        """Sealed segments, oldest first, after adopting active files of dead owners."""
        if not self.directory.exists():
            return []
        for active in sorted(self.directory.glob("active-*.jsonl")):
            if active != self._active:
                _adopt_if_orphaned(active)
        return sorted(self.directory.glob("seg-*.jsonl"))

    def usage(self) -> SpoolUsage:
        """Outcomes and bytes on disk not yet in the database (every process's files). A sealed
        segment never changes, so each is counted once; this costs a listing and a stat per file."""
        if not self.directory.exists():
            return SpoolUsage()
        records = total = 0
        counted: dict[tuple[str, int], int] = {}
        for path in self.directory.glob("*.jsonl"):
            if path == self._active:
                records, total = records + self._appended, total + self._active_bytes
                continue
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue  # written to the database meanwhile
            key = (path.name, size)
            counted[key] = self._counted.get(key) if key in self._counted else _count_lines(path)
            records, total = records + counted[key], total + size
        self._counted = counted
        return SpoolUsage(records, total)

    def spooled_count(self) -> int:
        """Outcomes on disk not yet known to be in the database (sealed and active)."""
        paths = sorted(self.directory.glob("*.jsonl")) if self.directory.exists() else []
        return sum(len(read_segment(p)) for p in paths)


@contextmanager
def claimed(path: Path) -> Iterator[int | None]:
    """Exclusive, non-blocking claim on a sealed segment; yields None when someone else has it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        # Another process may have finished and deleted it between our open and our lock.
        yield fd if os.fstat(fd).st_nlink > 0 else None
    finally:
        os.close(fd)


def read_segment(path: Path) -> list[dict[str, Any]]:
    """Parse a segment; a torn final line (a crash mid-write, never acknowledged) is skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        log.warning("spool %s ends with a torn line (crash mid-write); skipping it", path.name)
        lines.pop()
    return [json.loads(line) for line in lines if line]


def remove_segment(path: Path) -> None:
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def quarantine(path: Path, lines: list[dict[str, Any]], reason: str) -> Path:
    """Keep outcomes the database refuses (bad data) aside, on disk, instead of retrying for ever."""
    target_dir = path.parent / "rejected"
    target_dir.mkdir(exist_ok=True, mode=0o700)
    target = target_dir / f"{path.stem}-{uuid.uuid4().hex[:8]}.jsonl"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for line in lines:
            handle.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.error("database refused %d outcomes (%s); kept them in %s", len(lines), reason, target)
    return target


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def _sealed_name() -> str:
    return f"seg-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"


def _adopt_if_orphaned(active: Path) -> None:
    try:
        fd = os.open(active, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return  # its owner is alive
    try:
        if os.fstat(fd).st_nlink > 0:
            os.rename(active, active.parent / _sealed_name())
            log.info("adopted spool file %s left by a stopped process", active.name)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
