"""The widget: ad-hoc submissions keep the schema they were made against, and
signed embed links are single use.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("schema", sa.Text, nullable=True))
    op.create_table(
        "used_tokens",
        sa.Column("jti_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("used_tokens")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("schema")
