"""The record the client hands to the store: one request and its outcome, as plain values.

The store knows nothing of Triton; this dataclass is the whole interface. It carries raw text and the
raw session id; the store encrypts or drops the text and keeps only a keyed HMAC of the session id
before anything touches disk (spool included).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from pipeline_lib.contract import EQ_DIMENSIONS  # noqa: F401 - re-exported to the store
from pipeline_lib.errors import InvalidInputError


_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
# Column widths in models.py; checked here so a bad record fails at the caller, not at replay.
_MAX_LENGTH = {
    "variant": 64,
    "model_name": 128,
    "model_version": 64,
    "context_type": 64,
    "persona_mode": 64,
    "error_kind": 64,
    "reply_persona": 64,
    "crisis_reply_mode": 32,
    "finish_reason": 32,
}


@dataclass(frozen=True)
class OutcomeRecord:
    request_id: str  # uuid4 hex: the idempotency key, recorded exactly once
    session_id: str  # raw; the store keeps only a keyed HMAC of it
    variant: str  # A/B variant name
    model_name: str  # ensemble name served
    model_version: str
    context_type: str
    user_text: str  # encrypted or dropped by config
    response_text: str | None
    eq_scores: tuple[float, ...] | None  # five values in EQ_DIMENSIONS order
    overall_eq: float | None
    safety_score: float | None
    bias_score: float | None
    persona_mode: str | None
    crisis_flag: bool | None
    server_time_ms: float | None  # inference_time_ms from the ensemble
    latency_ms: float  # client-side, whole call
    cache_hit: bool
    error_kind: str | None  # None when the call succeeded
    created_at: datetime  # UTC
    # Which persona and which choice produced the reply (the engine's models report them; None
    # for the run-to-completion ensemble and for calls that ended before the final response).
    reply_persona: str | None = None  # context type whose system prompt wrote the reply
    crisis_reply_mode: str | None = None  # none/generated/configured/configured_then_generated
    finish_reason: str | None = None  # stop / length

    def __post_init__(self) -> None:
        if not _REQUEST_ID.match(self.request_id):
            raise InvalidInputError("request_id", "must be 32 lowercase hex digits (uuid4().hex)")
        for name in ("session_id", "variant", "model_name", "model_version", "context_type"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InvalidInputError(name, "must be a non-empty string")
        for name, limit in _MAX_LENGTH.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise InvalidInputError(name, f"must be at most {limit} characters")
        if self.eq_scores is not None and len(self.eq_scores) != len(EQ_DIMENSIONS):
            raise InvalidInputError(
                "eq_scores", f"must hold {len(EQ_DIMENSIONS)} values ({', '.join(EQ_DIMENSIONS)})"
            )
        for name in ("overall_eq", "safety_score", "bias_score", "server_time_ms"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InvalidInputError(name, "must be a finite number or None")
        if not math.isfinite(self.latency_ms) or self.latency_ms < 0:
            raise InvalidInputError("latency_ms", "must be a finite number >= 0")
        if self.created_at.tzinfo is None:
            raise InvalidInputError("created_at", "must be timezone-aware (UTC)")

    @property
    def created_at_utc(self) -> datetime:
        return self.created_at.astimezone(timezone.utc)
