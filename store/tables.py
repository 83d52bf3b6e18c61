"""The database tables (SQLAlchemy Core). Alembic migrations create them.

JSON is kept as text written by us, so the exact text can key caches.
Times are integer milliseconds since the epoch (UTC) on every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    or_,
)

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("user_id", String(255), primary_key=True),
    Column("claimed", Text, nullable=False, default="{}"),
    Column("trusted", Text, nullable=False, default="{}"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("visitor_id", String(64), nullable=False, index=True),
    Column("user_id", String(255), nullable=True, index=True),
    Column("verified", Boolean, nullable=False, default=False),
    Column("claimed", Text, nullable=False, default="{}"),
    Column("session_metadata", Text, nullable=False, default="{}"),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
)

submissions = Table(
    "submissions", metadata,
    Column("id", String(40), primary_key=True),
    Column("form", String(100), nullable=False),
    Column("args", Text, nullable=False),
    Column("values", Text, nullable=False),
    Column("user_id", String(255), nullable=True),   # as given, verified or not
    Column("owner_id", String(255), nullable=True),  # the verified user whose history it is in
    Column("visitor_id", String(64), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("session_metadata", Text, nullable=False),
    Column("prefilled", Text, nullable=False),
    Column("changed", Text, nullable=False),
    Column("sources", Text, nullable=False, server_default="{}"),  # field -> trusted|claimed|default|template
    Column("schema", Text, nullable=True),  # an ad-hoc form's own schema; None for a provider's form
    Column("created_at", BigInteger, nullable=False),
    # Each history index holds only the rows its query can return: partial, WHERE owner_id IS
    # NOT NULL, owner_id IS NULL, and owner_id IS NULL AND user_id IS NOT NULL. Migration 0006
    # makes them so and says why; declaring the conditions here would load both databases'
    # dialects into every worker (2 MiB more for PostgreSQL's on SQLite).
    Index("ix_submissions_owner_created", "owner_id", "created_at"),
    Index("ix_submissions_visitor_created", "visitor_id", "created_at"),
    Index("ix_submissions_user", "user_id"),
    Index("ix_submissions_created", "created_at"),  # the admin list and export, newest first
)

# Signed embed links are single use: the hash of each exchanged token's jti, kept until it expires.
used_tokens = Table(
    "used_tokens", metadata,
    Column("jti_hash", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# A session token rotated away (a sign-in or sign-out gave the session a new one), by hash,
# for a grace period: a request still carrying it gets a 409 rather than a new session.
rotated_tokens = Table(
    "rotated_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("visitor_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("submission_id", String(40), nullable=False),  # no index: only erasure reads it (0006)
    Column("created_at", BigInteger, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", String(40), primary_key=True),
    Column("submission_id", String(40), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_deliveries_status_next", "status", "next_attempt_at"),
)

# Uploaded files: a row from the upload's first byte (its bytes reserved against
# the session's hourly budget) until erasure; claimed by one submission in the
# submission's own transaction. The file itself is in the storage, under ``storage_key``.
attachments = Table(
    "attachments", metadata,
    Column("id", String(40), primary_key=True),  # upl_ + 32 hex: what clients send back
    Column("storage_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # receiving | stored | refused
    Column("session_hash", String(64), nullable=False),  # the uploading session's token hash
    Column("visitor_id", String(64), nullable=False),
    Column("user_id", String(255), nullable=True, index=True),  # the session's user at upload (erasure)
    Column("form", String(100), nullable=False),
    Column("field", String(64), nullable=False),
    Column("name", String(255), nullable=False),  # for display only, normalised; never a path
    Column("type", String(255), nullable=True),  # detected from the content
    Column("size", BigInteger, nullable=True),
    Column("reserved", BigInteger, nullable=False),  # bytes counted against the session's hourly budget
    Column("fingerprint", String(64), nullable=True),  # sha256 of the first 64 KiB and the size
    Column("submission_id", String(40), nullable=True, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),  # unclaimed past this: cleaned up
    Index("ix_attachments_session_created", "session_hash", "created_at"),
)


def submissions_of_user(user_id: str) -> ColumnElement[bool]:
    """A user's submissions (erasure, the admin filter): owned, or claimed
    without an owner (an owner is always the row's user). Each branch has its
    own partial index (migration 0006): ``owner_id = u OR user_id = u`` would
    scan the table for the second."""
    s = submissions.c
    return or_(s.owner_id == user_id, and_(s.owner_id.is_(None), s.user_id == user_id))
