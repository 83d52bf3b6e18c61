"""Attachments: uploaded files, claimed by a submission in its own transaction.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=True, index=True),
        sa.Column("form", sa.String(100), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("submission_id", sa.String(40), nullable=True, index=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    )
    op.create_index("ix_attachments_session_created", "attachments", ["session_hash", "created_at"])


def downgrade() -> None:
    op.drop_table("attachments")
