"""A submit writes fewer index entries: each history index holds only the
submissions its query can return, and the idempotency keys lose the index
only erasure read.

- ``ix_submissions_owner_created``: a verified user's history (``owner_id =``),
  so only rows with an owner.
- ``ix_submissions_visitor_created``: a visitor's history, which is only of
  rows without an owner (``owner_id IS NULL``).
- ``ix_submissions_user``: erasure and the admin filter by user find an owned
  row by ``owner_id`` (an owner is always its ``user_id``), so this one holds
  only claimed rows without an owner.
- ``ix_idempotency_keys_submission_id``: read only by erasure, which now scans
  the keys table; ``prefill cleanup`` keeps that to the last day or two.

A verified keyed submit writes 4 index entries instead of 7 (measured in
docs/performance.md). On PostgreSQL, dropping an index locks the table:
every read and write of ``submissions`` waits until the three new indexes are
built, in this migration's one transaction. On a large table, run
``flask --app app prefill migrate`` in a quiet moment before starting the new
version with ``AUTO_MIGRATE=0``.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PARTIAL = {
    "ix_submissions_owner_created": (["owner_id", "created_at"], "owner_id IS NOT NULL"),
    "ix_submissions_visitor_created": (["visitor_id", "created_at"], "owner_id IS NULL"),
    "ix_submissions_user": (["user_id"], "owner_id IS NULL AND user_id IS NOT NULL"),
}


def upgrade() -> None:
    op.drop_index("ix_idempotency_keys_submission_id", table_name="idempotency_keys")
    for name, (columns, where) in PARTIAL.items():
        op.drop_index(name, table_name="submissions")
        op.create_index(name, "submissions", columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, (columns, _) in PARTIAL.items():
        op.drop_index(name, table_name="submissions")
        op.create_index(name, "submissions", columns)
    op.create_index("ix_idempotency_keys_submission_id", "idempotency_keys", ["submission_id"])
