"""Write sealed spool segments to the database, idempotently, then delete them.

Each batch is one transaction. A segment is deleted only after every batch in it committed; if the
process dies half-way, the next replay writes the segment again and `write_outcomes` skips the
request ids already there. Connection errors propagate (the caller retries later); data the database
refuses is quarantined so one bad record cannot block the spool.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from pipeline_lib.store.crud import write_outcomes
from pipeline_lib.store.spool import Spool, claimed, quarantine, read_segment, remove_segment

log = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    segments: int = 0  # sealed segments written and deleted
    outcomes: int = 0  # outcomes read from them
    written: int = 0  # of which new to the database
    rejected: int = 0  # refused by the database and quarantined

    @property
    def duplicates(self) -> int:
        return self.outcomes - self.written - self.rejected


async def replay(
    *, spool: Spool, engine: AsyncEngine, batch_size: int, ids: dict | None = None
) -> ReplayResult:
    """Write every sealed segment nobody else is replaying; returns what was done."""
    ids = {} if ids is None else ids
    result = ReplayResult()
    for path in spool.sealed_segments():
        with claimed(path) as handle:
            if handle is None:
                continue
            outcomes = read_segment(path)
            for start in range(0, len(outcomes), batch_size):
                batch = outcomes[start : start + batch_size]
                # Cached ids become real only when their transaction commits.
                batch_ids = dict(ids)
                try:
                    async with engine.begin() as conn:
                        result.written += await write_outcomes(conn, outcomes=batch, ids=batch_ids)
                    ids.update(batch_ids)
                except (DataError, IntegrityError) as exc:
                    quarantine(path, batch, type(exc.orig).__name__ if exc.orig else str(exc))
                    result.rejected += len(batch)
            remove_segment(path)
            result.segments += 1
            result.outcomes += len(outcomes)
    if result.outcomes:
        log.info(
            "replayed %d spooled outcomes from %d segments (%d new, %d already stored, %d rejected)",
            result.outcomes,
            result.segments,
            result.written,
            result.duplicates,
            result.rejected,
        )
    return result
