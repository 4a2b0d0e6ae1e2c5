"""Reply provenance: which persona's prompt wrote a reply, what a flagged message got, why it ended.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Three nullable columns on inference_results; rows written before stay valid (NULL: not reported).
Plain ADD/DROP COLUMN on both databases (SQLite >= 3.35 drops columns in place): no table copy,
so the views over inference_results are left alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("reply_persona", 64),  # the context type whose system prompt wrote the reply
    ("crisis_reply_mode", 32),  # none / generated / configured / configured_then_generated
    ("finish_reason", 32),  # stop / length
)


def upgrade() -> None:
    for name, length in COLUMNS:
        op.add_column("inference_results", sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("inference_results", name)
