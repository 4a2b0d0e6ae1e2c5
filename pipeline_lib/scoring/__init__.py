"""Scores that mean something: crisis, safety, EQ, bias and persona for a (message, reply) pair.

`Scorer.load(model_dir)` loads the heads written by `pixel train-scoring` (None: rules only);
`Scorer.score_batch(...)` returns one `Scores` per request. Method and figures: docs/scoring.md.
"""

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
]
