"""Initial outcome-store schema: the seed's tables and views, plus feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Frozen on purpose: this file does not import the models, so later model edits need a new revision
(`alembic revision --autogenerate`) rather than silently changing history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)
RequestId = sa.String(32)
SessionHash = sa.String(64)

SINCE_24H = {
    "postgresql": "now() - interval '24 hours'",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 day')",
}

RECENT_INFERENCE_ACCURACY = """
CREATE VIEW recent_inference_accuracy AS
SELECT m.name AS model_name,
       m.version AS model_version,
       r.variant,
       COUNT(DISTINCT r.request_id) AS requests,
       COUNT(f.id) AS ratings,
       AVG(f.rating * 1.0) AS mean_rating,
       AVG(CASE WHEN f.rating >= 4 THEN 1.0 WHEN f.rating IS NOT NULL THEN 0.0 END)
           AS acceptable_rate,
       AVG(CASE WHEN f.crisis_confirmed IS NULL OR res.crisis_flag IS NULL THEN NULL
                WHEN f.crisis_confirmed = res.crisis_flag THEN 1.0 ELSE 0.0 END)
           AS crisis_agreement,
       AVG(CASE WHEN f.crisis_confirmed AND res.crisis_flag IS NOT NULL
                THEN CASE WHEN res.crisis_flag THEN 1.0 ELSE 0.0 END END) AS crisis_recall
FROM inference_requests r
JOIN models m ON m.id = r.model_id
LEFT JOIN inference_results res ON res.request_id = r.request_id
LEFT JOIN feedback f ON f.request_id = r.request_id
WHERE r.created_at >= {since}
GROUP BY m.name, m.version, r.variant
"""

AB_TEST_COMPARISON = """
CREATE VIEW ab_test_comparison AS
SELECT t.name AS test_name,
       a.variant,
       COUNT(*) AS requests,
       COUNT(a.overall_eq) AS scored,
       AVG(a.overall_eq) AS mean_eq,
       AVG(a.overall_eq * a.overall_eq) - AVG(a.overall_eq) * AVG(a.overall_eq) AS var_pop_eq,
       AVG(a.safety_score) AS mean_safety,
       AVG(a.bias_score) AS mean_bias,
       AVG(a.latency_ms) AS mean_latency_ms,
       SUM(CASE WHEN a.crisis_flag THEN 1 ELSE 0 END) AS crisis_count,
       SUM(CASE WHEN a.is_error THEN 1 ELSE 0 END) AS error_count
FROM ab_test_results a
JOIN ab_tests t ON t.id = a.ab_test_id
GROUP BY t.name, a.variant
"""


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("first_seen_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
    )
    op.create_table(
        "inference_sessions",
        sa.Column("session_hash", SessionHash, nullable=False),
        sa.Column("first_seen_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_inference_sessions"),
    )
    op.create_table(
        "ab_tests",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("started_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ab_tests"),
        sa.UniqueConstraint("name", name="uq_ab_tests_name"),
    )
    op.create_table(
        "inference_requests",
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("session_hash", SessionHash, nullable=False),
        sa.Column("model_id", Id, nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("context_type", sa.String(64), nullable=False),
        sa.Column("user_text_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_inference_requests"),
        sa.ForeignKeyConstraint(
            ["session_hash"],
            ["inference_sessions.session_hash"],
            name="fk_inference_requests_session_hash_inference_sessions",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_inference_requests_model_id_models"
        ),
    )
    op.create_index("ix_inference_requests_created_at", "inference_requests", ["created_at"])
    op.create_index(
        "ix_inference_requests_variant_created_at", "inference_requests", ["variant", "created_at"]
    )
    op.create_index("ix_inference_requests_session_hash", "inference_requests", ["session_hash"])
    op.create_index("ix_inference_requests_model_id", "inference_requests", ["model_id"])

    op.create_table(
        "inference_results",
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("response_text_enc", sa.LargeBinary(), nullable=True),
        *(
            sa.Column(name, sa.Float(), nullable=True)
            for name in (
                "eq_self_awareness",
                "eq_self_regulation",
                "eq_motivation",
                "eq_empathy",
                "eq_social_skill",
                "overall_eq",
                "safety_score",
                "bias_score",
            )
        ),
        sa.Column("persona_mode", sa.String(64), nullable=True),
        sa.Column("crisis_flag", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_inference_results"),
        _fk("inference_results"),
    )
    op.create_table(
        "inference_metrics",
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("server_time_ms", sa.Float(), nullable=True),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("error_kind", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_inference_metrics"),
        _fk("inference_metrics"),
    )
    op.create_table(
        "ab_test_results",
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("ab_test_id", Id, nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("overall_eq", sa.Float(), nullable=True),
        sa.Column("safety_score", sa.Float(), nullable=True),
        sa.Column("bias_score", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("crisis_flag", sa.Boolean(), nullable=True),
        sa.Column("is_error", sa.Boolean(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_ab_test_results"),
        _fk("ab_test_results"),
        sa.ForeignKeyConstraint(
            ["ab_test_id"], ["ab_tests.id"], name="fk_ab_test_results_ab_test_id_ab_tests"
        ),
    )
    op.create_index("ix_ab_test_results_test_variant", "ab_test_results", ["ab_test_id", "variant"])

    op.create_table(
        "crisis_alerts",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("session_hash", SessionHash, nullable=False),
        sa.Column("safety_score", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crisis_alerts"),
        sa.UniqueConstraint("request_id", name="uq_crisis_alerts_request_id"),
        _fk("crisis_alerts"),
    )
    op.create_index("ix_crisis_alerts_status_created_at", "crisis_alerts", ["status", "created_at"])
    op.create_table(
        "bias_incidents",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("bias_score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bias_incidents"),
        sa.UniqueConstraint("request_id", name="uq_bias_incidents_request_id"),
        _fk("bias_incidents"),
    )
    op.create_index("ix_bias_incidents_created_at", "bias_incidents", ["created_at"])
    op.create_table(
        "performance_alerts",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_performance_alerts"),
        sa.UniqueConstraint("request_id", "metric", name="uq_performance_alerts_request_metric"),
        _fk("performance_alerts"),
    )
    op.create_index("ix_performance_alerts_created_at", "performance_alerts", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("request_id", RequestId, nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("crisis_confirmed", sa.Boolean(), nullable=True),
        sa.Column("reviewer", sa.String(64), nullable=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating_range"),
        _fk("feedback"),
    )
    op.create_index("ix_feedback_request_id", "feedback", ["request_id"])

    since = SINCE_24H[op.get_bind().dialect.name]
    op.execute(RECENT_INFERENCE_ACCURACY.format(since=since))
    op.execute(AB_TEST_COMPARISON)


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["request_id"],
        ["inference_requests.request_id"],
        name=f"fk_{table}_request_id_inference_requests",
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS ab_test_comparison")
    op.execute("DROP VIEW IF EXISTS recent_inference_accuracy")
    for table in (
        "feedback",
        "performance_alerts",
        "bias_incidents",
        "crisis_alerts",
        "ab_test_results",
        "inference_metrics",
        "inference_results",
        "inference_requests",
        "ab_tests",
        "inference_sessions",
        "models",
    ):
        op.drop_table(table)
