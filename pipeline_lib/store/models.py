"""SQLAlchemy 2 models: the schema of the outcome store (PostgreSQL and SQLite alike).

Text columns ending in `_enc` hold AES-GCM ciphertext (see crypto.py) or NULL when the privacy
policy drops text; `session_hash` is a keyed HMAC, never the raw session id. Every per-request table
is keyed (or uniquely constrained) by `request_id`, which is what makes replays idempotent.
The migrations in `migrations/versions/` create exactly this schema (a test autogenerates against it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")
RequestId = String(32)
SessionHash = String(64)
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _request_fk() -> ForeignKey:
    return ForeignKey("inference_requests.request_id", ondelete="CASCADE")


class Model(Base):
    """Model registry: one row per (ensemble name, version) ever served."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_models_name_version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp)


class InferenceSession(Base):
    __tablename__ = "inference_sessions"

    session_hash: Mapped[str] = mapped_column(SessionHash, primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp)


class InferenceRequest(Base):
    __tablename__ = "inference_requests"
    __table_args__ = (
        Index("ix_inference_requests_created_at", "created_at"),
        Index("ix_inference_requests_variant_created_at", "variant", "created_at"),
        Index("ix_inference_requests_session_hash", "session_hash"),
        Index("ix_inference_requests_model_id", "model_id"),
    )

    request_id: Mapped[str] = mapped_column(RequestId, primary_key=True)
    session_hash: Mapped[str] = mapped_column(
        SessionHash, ForeignKey("inference_sessions.session_hash")
    )
    model_id: Mapped[int] = mapped_column(Id, ForeignKey("models.id"))
    variant: Mapped[str] = mapped_column(String(64))
    context_type: Mapped[str] = mapped_column(String(64))
    user_text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class InferenceResult(Base):
    __tablename__ = "inference_results"

    request_id: Mapped[str] = mapped_column(RequestId, _request_fk(), primary_key=True)
    response_text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    eq_self_awareness: Mapped[float | None] = mapped_column(Float)
    eq_self_regulation: Mapped[float | None] = mapped_column(Float)
    eq_motivation: Mapped[float | None] = mapped_column(Float)
    eq_empathy: Mapped[float | None] = mapped_column(Float)
    eq_social_skill: Mapped[float | None] = mapped_column(Float)
    overall_eq: Mapped[float | None] = mapped_column(Float)
    safety_score: Mapped[float | None] = mapped_column(Float)
    bias_score: Mapped[float | None] = mapped_column(Float)
    persona_mode: Mapped[str | None] = mapped_column(String(64))
    crisis_flag: Mapped[bool | None] = mapped_column(Boolean)
    # Provenance of the reply (migration 0002): NULL for rows written before it, for the
    # run-to-completion ensemble, and for calls that ended before the final response.
    reply_persona: Mapped[str | None] = mapped_column(String(64))
    crisis_reply_mode: Mapped[str | None] = mapped_column(String(32))
    finish_reason: Mapped[str | None] = mapped_column(String(32))


class InferenceMetric(Base):
    __tablename__ = "inference_metrics"

    request_id: Mapped[str] = mapped_column(RequestId, _request_fk(), primary_key=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    server_time_ms: Mapped[float | None] = mapped_column(Float)
    cache_hit: Mapped[bool] = mapped_column(Boolean)
    error_kind: Mapped[str | None] = mapped_column(String(64))


class AbTest(Base):
    __tablename__ = "ab_tests"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime] = mapped_column(Timestamp)


class AbTestResult(Base):
    """One row per request served under an A/B test: the numbers the comparison needs, flat."""

    __tablename__ = "ab_test_results"
    __table_args__ = (Index("ix_ab_test_results_test_variant", "ab_test_id", "variant"),)

    request_id: Mapped[str] = mapped_column(RequestId, _request_fk(), primary_key=True)
    ab_test_id: Mapped[int] = mapped_column(Id, ForeignKey("ab_tests.id"))
    variant: Mapped[str] = mapped_column(String(64))
    overall_eq: Mapped[float | None] = mapped_column(Float)
    safety_score: Mapped[float | None] = mapped_column(Float)
    bias_score: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    crisis_flag: Mapped[bool | None] = mapped_column(Boolean)
    is_error: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class CrisisAlert(Base):
    """Every crisis-flagged request, for human follow-up (status: open -> acknowledged -> closed)."""

    __tablename__ = "crisis_alerts"
    __table_args__ = (Index("ix_crisis_alerts_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(RequestId, _request_fk(), unique=True)
    session_hash: Mapped[str] = mapped_column(SessionHash)
    safety_score: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class BiasIncident(Base):
    __tablename__ = "bias_incidents"
    __table_args__ = (Index("ix_bias_incidents_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(RequestId, _request_fk(), unique=True)
    bias_score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class PerformanceAlert(Base):
    __tablename__ = "performance_alerts"
    __table_args__ = (
        UniqueConstraint("request_id", "metric", name="uq_performance_alerts_request_metric"),
        Index("ix_performance_alerts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(RequestId, _request_fk())
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Feedback(Base):
    """A human rating of one response: what "accuracy" means in recent_inference_accuracy.

    rating: 1 (harmful or useless) .. 5 (what a good counsellor would say); a rating >= 4 counts
    as acceptable. crisis_confirmed: the reviewer's own judgement of whether the user was in crisis,
    compared with the model's crisis flag.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_feedback_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(RequestId, _request_fk())
    rating: Mapped[int] = mapped_column(SmallInteger)
    crisis_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
