"""Fill a store with synthetic outcomes and reviewer feedback (for `pixel db seed-synthetic`)."""

from __future__ import annotations

import random

from pipeline_lib.store import crud, migrate
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.recorder import Recorder
from pipeline_lib.store.settings import StoreSettings
from pipeline_lib.store.synthetic import synthetic_outcomes


async def seed_synthetic(
    settings: StoreSettings, *, count: int, seed: int = 0, feedback_share: float = 0.2
) -> int:
    """Migrate, record `count` outcomes through the Recorder, rate a share of them; returns count."""
    await migrate.upgrade_async(settings.database_url)
    outcomes = synthetic_outcomes(count, seed=seed)
    async with Recorder.from_settings(settings) as recorder:
        for outcome in outcomes:
            await recorder.record(outcome)
        await recorder.flush()
    rng = random.Random(seed + 1)
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            for outcome in outcomes:
                if outcome.error_kind or rng.random() >= feedback_share:
                    continue
                # A reviewer who mostly agrees: ratings track EQ, crisis judgement misses few.
                rating = max(1, min(5, round((outcome.overall_eq or 0.5) * 5 + rng.gauss(0.5, 0.8))))
                confirmed = bool(outcome.crisis_flag) if rng.random() < 0.98 else not outcome.crisis_flag
                await crud.add_feedback(
                    conn,
                    request_id=outcome.request_id,
                    rating=rating,
                    crisis_confirmed=confirmed,
                    reviewer="synthetic",
                )
    finally:
        await engine.dispose()
    return len(outcomes)
