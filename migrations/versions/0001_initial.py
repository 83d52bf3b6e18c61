"""Initial schema: users, sessions, submissions, idempotency keys, webhook outbox.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("claimed", sa.Text, nullable=False),
        sa.Column("trusted", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("visitor_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.String(255), nullable=True, index=True),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("claimed", sa.Text, nullable=False),
        sa.Column("session_metadata", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("form", sa.String(100), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("values", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("owner_id", sa.String(255), nullable=True),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("session_metadata", sa.Text, nullable=False),
        sa.Column("prefilled", sa.Text, nullable=False),
        sa.Column("changed", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_submissions_owner_created", "submissions", ["owner_id", "created_at"])
    op.create_index("ix_submissions_visitor_created", "submissions", ["visitor_id", "created_at"])
    op.create_index("ix_submissions_user", "submissions", ["user_id"])
    op.create_index("ix_submissions_created", "submissions", ["created_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("visitor_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("submission_id", sa.String(40), nullable=False, index=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("submission_id", sa.String(40), nullable=False, index=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("delivered_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("webhook_deliveries", "idempotency_keys", "submissions", "sessions", "users"):
        op.drop_table(table)
