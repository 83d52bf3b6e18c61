"""Changing a session: identify, update the user or session metadata, reset,
rotate the token — each a step of one transaction (:meth:`SessionStore.change`),
so a combined call such as ``POST /api/update`` lands whole or not at all.

The transaction starts by locking the session's row and reading it as it now
is: concurrent changes of one session (two tabs, an effect run twice) queue
behind each other, and every merge starts from what the last one left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, text

from forms.errors import InvalidSession, NotIdentified, SessionRotated, UserMismatch, ValidationFailed

from .db import dumps, now_ms
from .tokens import hash_token, new_session_token

METADATA_MAX_BYTES = 16 * 1024
ROTATION_GRACE_MS = 30 * 1000  # how long a token rotated away answers 409 session_rotated

_LOAD = text(
    "SELECT s.token_hash, s.visitor_id, s.user_id, s.verified, s.claimed, s.session_metadata,"
    " s.last_seen, u.claimed, u.trusted"
    " FROM sessions s LEFT JOIN users u ON u.user_id = s.user_id AND s.verified = :yes"
    " WHERE s.token_hash = :h"
)
_TOUCH = text("UPDATE sessions SET last_seen = :t WHERE token_hash = :h")
_ROTATED = text("SELECT 1 FROM rotated_tokens WHERE token_hash = :h AND expires_at > :t")


def merge(base_text: str | None, update: dict[str, Any], field: str) -> str:
    """Top-level merge: new keys win, a nested object is replaced whole. The
    16 KiB limit holds for the merged result, not only for each request."""
    base = json.loads(base_text or "{}")
    base.update(update)
    merged = dumps(base)
    if len(merged.encode()) > METADATA_MAX_BYTES:
        raise ValidationFailed(fields={field: ["Together with what is stored, must be at most 16 KiB of JSON."]})
    return merged


@dataclass(frozen=True, slots=True)
class SessionRow:
    token_hash: str
    visitor_id: str
    user_id: str | None
    verified: bool
    claimed: str
    session_metadata: str
    last_seen: int
    profile_claimed: str | None = None
    profile_trusted: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> SessionRow:
        """From a row of ``_LOAD`` (a DBAPI tuple or a SQLAlchemy row)."""
        return cls(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7], row[8])

    @property
    def content_key(self) -> tuple[Any, ...]:
        """Everything the identity is made of but the visitorId (the exact stored texts)."""
        if self.verified:
            return (self.user_id, True, self.profile_claimed, self.profile_trusted, self.session_metadata)
        return (self.user_id, False, self.claimed, None, self.session_metadata)

    @property
    def cache_key(self) -> tuple[Any, ...]:
        return (self.visitor_id, self.content_key)

    @property
    def who(self) -> tuple[str | None, bool]:
        """Who the session is: a change of this is what rotates a cookie's token."""
        return (self.user_id, self.verified)


def was_rotated(conn: Connection, token_hash: str) -> bool:
    """True while a token rotated away is within its grace period."""
    return conn.execute(_ROTATED, {"h": token_hash, "t": now_ms()}).first() is not None


def lock(conn: Connection, token_hash: str) -> SessionRow:
    """The session's row, locked for this transaction (a write first: a row lock
    on PostgreSQL, the write lock on SQLite) and read as it now is. A token
    rotated away meanwhile is a :class:`SessionRotated`; a session gone
    (expired, erased) an :class:`InvalidSession`."""
    if not conn.execute(_TOUCH, {"t": now_ms(), "h": token_hash}).rowcount:
        raise SessionRotated() if was_rotated(conn, token_hash) else InvalidSession()
    return SessionRow.from_row(conn.execute(_LOAD, {"h": token_hash, "yes": True}).one())


def upsert_profile(conn: Connection, user_id: str, claims: dict[str, Any], trusted: dict[str, Any]) -> None:
    """Merge into the user's profile, creating it; row-locked on PostgreSQL."""
    now = now_ms()
    conn.execute(
        text("INSERT INTO users (user_id, claimed, trusted, created_at, updated_at)"
             " VALUES (:u, '{}', '{}', :n, :n) ON CONFLICT (user_id) DO NOTHING"),
        {"u": user_id, "n": now},
    )
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    current = conn.execute(text("SELECT claimed, trusted FROM users WHERE user_id = :u" + lock), {"u": user_id}).one()
    conn.execute(
        text("UPDATE users SET claimed = :c, trusted = :t, updated_at = :n WHERE user_id = :u"),
        {"c": merge(current[0], claims, "userMetadata"), "t": merge(current[1], trusted, "trusted"),
         "n": now, "u": user_id},
    )


class SessionChange:
    """The steps of one transaction on one locked session; ``row`` is the
    session as it was locked, then as the steps left it."""

    def __init__(self, conn: Connection, session: SessionRow) -> None:
        self.conn = conn
        self.row = session
        self.was = session.who
        self.new_token: str | None = None  # set by rotate()

    @property
    def identity_changed(self) -> bool:
        """Anonymous to a user, one user to another, claimed to verified, a reset
        of a user: not the same user again."""
        return self.row.who != self.was

    def _set(self, sql: str, **params: Any) -> None:
        self.conn.execute(text(f"UPDATE sessions SET {sql} WHERE token_hash = :h"),
                          {**params, "h": self.row.token_hash})

    def identify(self, user_id: str, claims: dict[str, Any], trusted: dict[str, Any], verified: bool) -> None:
        """Attach ``user_id`` to the session. Only a verified one touches the
        profile; the same user again merges what it brings (claims, and the
        trusted claims a proof establishes)."""
        if verified:
            upsert_profile(self.conn, user_id, claims, trusted)
            self._set("user_id = :u, verified = :yes, claimed = '{}'", u=user_id, yes=True)
            # Anonymous submissions of this visitor move to the verified user.
            self.conn.execute(
                text("UPDATE submissions SET owner_id = :u WHERE visitor_id = :v"
                     " AND owner_id IS NULL AND user_id IS NULL"),
                {"u": user_id, "v": self.row.visitor_id},
            )
            claimed = "{}"
        else:
            same = self.row.who == (user_id, False)
            claimed = merge(self.row.claimed if same else "{}", claims, "userMetadata")
            self._set("user_id = :u, verified = :no, claimed = :c", u=user_id, no=False, c=claimed)
        self.row = replace(self.row, user_id=user_id, verified=verified, claimed=claimed)

    def update_user(self, user_id: str, claims: dict[str, Any]) -> None:
        """Merge into the user's claims; the session must (still) be ``user_id``'s."""
        if self.row.user_id is None:
            raise NotIdentified()
        if self.row.user_id != user_id:
            raise UserMismatch()
        if self.row.verified:
            upsert_profile(self.conn, user_id, claims, {})
        else:
            claimed = merge(self.row.claimed, claims, "userMetadata")
            self._set("claimed = :c", c=claimed)
            self.row = replace(self.row, claimed=claimed)

    def update_session_metadata(self, metadata: dict[str, Any]) -> None:
        merged = merge(self.row.session_metadata, metadata, "metadata")
        self._set("session_metadata = :m", m=merged)
        self.row = replace(self.row, session_metadata=merged)

    def reset(self) -> None:
        self._set("user_id = NULL, verified = :no, claimed = '{}', session_metadata = '{}'", no=False)
        self.row = replace(self.row, user_id=None, verified=False, claimed="{}", session_metadata="{}")

    def rotate(self) -> None:
        """A new token for the same session (session fixation). The old one is
        dead, and for :data:`ROTATION_GRACE_MS` known as rotated away: it never
        follows to the new identity (a token planted before a sign-in would then
        be the user's), and a request still carrying it gets a 409, not a new
        session whose cookie would undo this one."""
        token = new_session_token()
        old, new = self.row.token_hash, hash_token(token)
        self._set("token_hash = :new", new=new)
        self.conn.execute(text("INSERT INTO rotated_tokens (token_hash, expires_at) VALUES (:h, :e)"),
                          {"h": old, "e": now_ms() + ROTATION_GRACE_MS})
        self.row = replace(self.row, token_hash=new)
        self.new_token = token

    def finish(self) -> None:
        self.row = SessionRow.from_row(self.conn.execute(_LOAD, {"h": self.row.token_hash, "yes": True}).one())
