"""Scores that mean something: crisis, safety, EQ, bias and persona for a (message, reply) pair.

This package is the serving half: `Scorer.load(model_dir)` loads what `pixel train-scoring` wrote
(None: rules only); `Scorer.user_risk(...)` assesses user messages (with earlier turns when given);
`Scorer.score_batch(...)` returns one `Scores` per request. Training, selection and evaluation live
in `pipeline_lib.scoring.train`, which nothing here imports. Method and figures: docs/scoring.md.
"""

from pipeline_lib.scoring.assessment import UserRisk
from pipeline_lib.scoring.rules import (
    CONTEXT_TYPES,
    DEFAULT_CRISIS_POINTER,
    EQ_DIMENSIONS,
    EQ_WEIGHTS,
    PERSONA_MODES,
)
from pipeline_lib.scoring.scorer import Scorer, Scores

__all__ = [
    "CONTEXT_TYPES",
    "DEFAULT_CRISIS_POINTER",
    "EQ_DIMENSIONS",
    "EQ_WEIGHTS",
    "PERSONA_MODES",
    "Scorer",
    "Scores",
    "UserRisk",
]
