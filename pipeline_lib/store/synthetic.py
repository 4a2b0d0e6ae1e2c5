"""Synthetic outcomes for trying the store and `pixel report` without a server.

Clearly labelled: model name `synthetic`, texts `synthetic message <n>`. Two variants with a small,
known difference (the candidate scores about 0.05 higher EQ and answers a little slower), so the
report's A/B test has something real to find. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

from pipeline_lib.store.records import EQ_DIMENSIONS, OutcomeRecord

VARIANTS = {
    # name: (weight, mean overall EQ, median latency ms)
    "control": (0.5, 0.62, 420.0),
    "candidate": (0.5, 0.67, 470.0),
}
CONTEXTS = ("general", "crisis_support", "anxiety", "depression")
PERSONAS = ("therapist", "assistant")
ERROR_KINDS = ("unavailable", "timeout", "overloaded")


def synthetic_outcomes(count: int, *, seed: int = 0, now: datetime | None = None) -> list[OutcomeRecord]:
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    names = list(VARIANTS)
    weights = [VARIANTS[n][0] for n in names]
    records = []
    for index in range(count):
        variant = rng.choices(names, weights)[0]
        _, mean_eq, median_latency = VARIANTS[variant]
        latency = rng.lognormvariate(0, 0.35) * median_latency
        if rng.random() < 0.01:
            latency *= 8  # a few slow calls past the SLO
        failed = rng.random() < 0.02
        crisis = rng.random() < 0.05
        eq = [min(1.0, max(0.0, rng.gauss(mean_eq, 0.08))) for _ in EQ_DIMENSIONS]
        records.append(
            OutcomeRecord(
                request_id=uuid.UUID(int=rng.getrandbits(128), version=4).hex,
                session_id=f"synthetic-session-{rng.randrange(count // 4 + 1)}",
                variant=variant,
                model_name="synthetic",
                model_version="1",
                context_type=rng.choice(CONTEXTS),
                user_text=f"synthetic message {index}",
                response_text=None if failed else f"synthetic response {index}",
                eq_scores=None if failed else tuple(eq),
                overall_eq=None if failed else sum(eq) / len(eq),
                safety_score=None if failed else (rng.uniform(0.1, 0.5) if crisis else rng.uniform(0.8, 1.0)),
                bias_score=None if failed else min(1.0, rng.expovariate(8)),
                persona_mode=None if failed else rng.choice(PERSONAS),
                crisis_flag=None if failed else crisis,
                server_time_ms=None if failed else latency * 0.9,
                latency_ms=latency,
                cache_hit=(not failed) and rng.random() < 0.1,
                error_kind=rng.choice(ERROR_KINDS) if failed else None,
                created_at=now - timedelta(seconds=rng.uniform(0, 3600)),
            )
        )
    return records
