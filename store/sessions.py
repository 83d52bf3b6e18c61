"""Sessions and user profiles: one indexed read per request builds the identity.

A verified session sees the user's stored profile (claimed and trusted); an
unverified one sees only the claims it sent itself. Tokens are stored hashed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, text

from forms.identity import ANONYMOUS, Identity
from forms.lru import LRU

from .db import dumps, now_ms

_ALNUM = string.ascii_lowercase + string.digits
TOUCH_EVERY_MS = 60 * 60 * 1000  # last_seen is written at most hourly: reads stay reads

_LOAD = text(
    "SELECT s.token_hash, s.visitor_id, s.user_id, s.verified, s.claimed, s.session_metadata,"
    " s.last_seen, u.claimed, u.trusted"
    " FROM sessions s LEFT JOIN users u ON u.user_id = s.user_id AND s.verified = :yes"
    " WHERE s.token_hash = :h"
)


def new_visitor_id() -> str:
    return f"v_{now_ms()}_{''.join(secrets.choice(_ALNUM) for _ in range(12))}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def merge(base_text: str | None, update: dict[str, Any]) -> str:
    """Top-level merge: new keys win, a nested object is replaced whole."""
    base = json.loads(base_text or "{}")
    base.update(update)
    return dumps(base)


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
    def cache_key(self) -> tuple[Any, ...]:
        if self.verified:
            return (self.user_id, self.visitor_id, True, self.profile_claimed,
                    self.profile_trusted, self.session_metadata)
        return (self.user_id, self.visitor_id, False, self.claimed, None, self.session_metadata)


class SessionStore:
    def __init__(self, engine: Engine, ttl_days: float, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.ttl_ms = int(ttl_days * 86400 * 1000)
        self.identities: LRU[tuple[Any, ...], Identity] = LRU(4096)
        # The per-request read goes straight to the pooled DBAPI connection:
        # one indexed primary-key lookup, none of the ORM/Core result machinery.
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._load_sql = str(_LOAD).replace(":yes", mark).replace(":h", mark)

    # -- reads -------------------------------------------------------------
    def load(self, token: str) -> SessionRow | None:
        """The live session for ``token`` (with its profile), or None."""
        if not token or len(token) > 200:
            return None
        row = self._fetch(hash_token(token))
        if row is None:
            return None
        session = SessionRow.from_row(row)
        now = now_ms()
        if now - session.last_seen > self.ttl_ms:
            return None
        if now - session.last_seen > TOUCH_EVERY_MS:
            with self.engine.begin() as conn:
                conn.execute(
                    text("UPDATE sessions SET last_seen = :t WHERE token_hash = :h"),
                    {"t": now, "h": session.token_hash},
                )
            session = replace(session, last_seen=now)
        return session

    def _fetch(self, token_hash: str, retry: bool = True) -> Any:
        raw = self.read_engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(self._load_sql, (True, token_hash))
            row = cursor.fetchone()
            cursor.close()
        except self.read_engine.dialect.loaded_dbapi.OperationalError:
            raw.invalidate()  # a connection the server dropped: try once on a fresh one
            if not retry:
                raise
            return self._fetch(token_hash, retry=False)
        finally:
            raw.close()
        return row

    def identity(self, session: SessionRow | None) -> Identity:
        """The engine's view of a session, memoised by its exact stored text."""
        if session is None:
            return ANONYMOUS
        key = session.cache_key
        found = self.identities.get(key)
        if found is None:
            if session.verified:
                claimed = json.loads(session.profile_claimed or "{}")
                trusted = json.loads(session.profile_trusted or "{}")
            else:
                claimed, trusted = json.loads(session.claimed), {}
            found = Identity.build(
                user_id=session.user_id,
                visitor_id=session.visitor_id,
                verified=session.verified and session.user_id is not None,
                claimed=claimed,
                trusted=trusted,
                session_metadata=json.loads(session.session_metadata),
                cache_key=key,
            )
            self.identities.put(key, found)
        return found

    # -- writes ------------------------------------------------------------
    def create(self, visitor_id: str | None = None) -> tuple[str, SessionRow]:
        token = secrets.token_urlsafe(32)
        now = now_ms()
        row = SessionRow(hash_token(token), visitor_id or new_visitor_id(), None, False, "{}", "{}", now)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sessions (token_hash, visitor_id, user_id, verified, claimed,"
                    " session_metadata, created_at, last_seen)"
                    " VALUES (:h, :v, NULL, :no, '{}', '{}', :t, :t)"
                ),
                {"h": row.token_hash, "v": row.visitor_id, "no": False, "t": now},
            )
        return token, row

    def _reload(self, conn: Any, token_hash: str) -> SessionRow:
        return SessionRow.from_row(conn.execute(_LOAD, {"h": token_hash, "yes": True}).one())

    def _upsert_profile(
        self, conn: Any, user_id: str, claims: dict[str, Any], trusted: dict[str, Any]
    ) -> None:
        """Merge into the user's profile, creating it; row-locked on PostgreSQL."""
        now = now_ms()
        conn.execute(
            text("INSERT INTO users (user_id, claimed, trusted, created_at, updated_at)"
                 " VALUES (:u, '{}', '{}', :n, :n) ON CONFLICT (user_id) DO NOTHING"),
            {"u": user_id, "n": now},
        )
        lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        current = conn.execute(
            text("SELECT claimed, trusted FROM users WHERE user_id = :u" + lock), {"u": user_id}
        ).one()
        conn.execute(
            text("UPDATE users SET claimed = :c, trusted = :t, updated_at = :n WHERE user_id = :u"),
            {"c": merge(current[0], claims), "t": merge(current[1], trusted), "n": now, "u": user_id},
        )

    def delete_expired(self) -> int:
        """Remove sessions idle past the TTL (they can never be used again)."""
        with self.engine.begin() as conn:
            return conn.execute(text("DELETE FROM sessions WHERE last_seen < :t"),
                                {"t": now_ms() - self.ttl_ms}).rowcount

    def _locked(self, conn: Any, token_hash: str, column: str) -> str:
        """Lock the session row (a write first: a row lock on PostgreSQL, the write
        lock on SQLite) and read ``column``, so concurrent merges serialise."""
        conn.execute(text("UPDATE sessions SET last_seen = :t WHERE token_hash = :h"),
                     {"t": now_ms(), "h": token_hash})
        return conn.execute(text(f"SELECT {column} FROM sessions WHERE token_hash = :h"),
                            {"h": token_hash}).scalar_one()

    def set_trusted(self, user_id: str, trusted: dict[str, Any]) -> None:
        """Server-to-server trusted metadata (the admin API)."""
        with self.engine.begin() as conn:
            self._upsert_profile(conn, user_id, {}, trusted)

    def profile(self, user_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT claimed, trusted FROM users WHERE user_id = :u"), {"u": user_id}
            ).first()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def identify(
        self,
        session: SessionRow,
        user_id: str,
        claims: dict[str, Any],
        trusted: dict[str, Any],
        verified: bool,
    ) -> SessionRow:
        """Attach ``user_id`` to the session. Only a verified one touches the profile."""
        with self.engine.begin() as conn:
            if verified:
                self._upsert_profile(conn, user_id, claims, trusted)
                conn.execute(
                    text("UPDATE sessions SET user_id = :u, verified = :yes, claimed = '{}'"
                         " WHERE token_hash = :h"),
                    {"u": user_id, "yes": True, "h": session.token_hash},
                )
                # Anonymous submissions of this visitor move to the verified user.
                conn.execute(
                    text("UPDATE submissions SET owner_id = :u WHERE visitor_id = :v"
                         " AND owner_id IS NULL AND user_id IS NULL"),
                    {"u": user_id, "v": session.visitor_id},
                )
            else:
                current = self._locked(conn, session.token_hash, "claimed")
                same = session.user_id == user_id and not session.verified
                claimed = merge(current if same else "{}", claims)
                conn.execute(
                    text("UPDATE sessions SET user_id = :u, verified = :no, claimed = :c"
                         " WHERE token_hash = :h"),
                    {"u": user_id, "no": False, "c": claimed, "h": session.token_hash},
                )
            return self._reload(conn, session.token_hash)

    def update_user(self, session: SessionRow, claims: dict[str, Any]) -> SessionRow:
        with self.engine.begin() as conn:
            if session.verified:
                self._upsert_profile(conn, session.user_id or "", claims, {})
            else:
                current = self._locked(conn, session.token_hash, "claimed")
                conn.execute(
                    text("UPDATE sessions SET claimed = :c WHERE token_hash = :h"),
                    {"c": merge(current, claims), "h": session.token_hash},
                )
            return self._reload(conn, session.token_hash)

    def update_session_metadata(self, session: SessionRow, metadata: dict[str, Any]) -> SessionRow:
        with self.engine.begin() as conn:
            current = self._locked(conn, session.token_hash, "session_metadata")
            conn.execute(
                text("UPDATE sessions SET session_metadata = :m WHERE token_hash = :h"),
                {"m": merge(current, metadata), "h": session.token_hash},
            )
            return self._reload(conn, session.token_hash)

    def reset(self, session: SessionRow) -> SessionRow:
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE sessions SET user_id = NULL, verified = :no, claimed = '{}',"
                     " session_metadata = '{}' WHERE token_hash = :h"),
                {"no": False, "h": session.token_hash},
            )
            return self._reload(conn, session.token_hash)
