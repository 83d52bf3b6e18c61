"""Sessions and user profiles: one indexed read per request builds the identity.

A verified session sees the user's stored profile (claimed and trusted); an
unverified one sees only the claims it sent itself. Tokens are stored hashed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, TimeoutError

from forms.errors import StoreUnavailable
from forms.identity import ANONYMOUS, Identity
from forms.lru import LRU, text_bytes

from .db import now_ms
from .session_change import _LOAD, METADATA_MAX_BYTES, SessionChange, SessionRow, lock, upsert_profile, was_rotated
from .threadreads import thread_reads
from .tokens import VISITOR_ID_MAX, VisitorIds, hash_token, new_session_token

__all__ = ["METADATA_MAX_BYTES", "VISITOR_ID_MAX", "SessionRow", "SessionStore", "hash_token"]
TOUCH_EVERY_MS = 60 * 60 * 1000  # last_seen is written at most hourly: reads stay reads


def identity_bytes(key: tuple[Any, ...], _identity: Identity) -> int:
    """The stored JSON texts in the key, and the frozen structures built from
    them (at most ~10x their text; tests check it)."""
    return 11 * text_bytes(key) + 2048


class SessionStore:
    def __init__(self, engine: Engine, ttl_days: float, read_engine: Engine | None = None,
                 secret: str = "", cache_bytes: int = 4 << 20) -> None:
        self.engine = engine
        self.visitor_ids = VisitorIds(secret)
        self.read_engine = read_engine or engine
        self.ttl_ms = int(ttl_days * 86400 * 1000)
        self.identities: LRU[tuple[Any, ...], Identity] = LRU(4096, cache_bytes, identity_bytes)
        # The per-request read goes straight to the pooled DBAPI connection:
        # one indexed primary-key lookup, none of the ORM/Core result machinery.
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._load_sql = str(_LOAD).replace(":yes", mark).replace(":h", mark)
        self._thread_reads = thread_reads(self.read_engine)

    def close(self) -> None:
        """Release the connections this store holds outside the engines' pools."""
        if self._thread_reads is not None:
            self._thread_reads.close()

    # -- reads -------------------------------------------------------------
    def load(self, token: str, remembered: bool = True) -> SessionRow | None:
        """The live session for ``token`` (with its profile), or None.
        ``remembered=False`` always reads: a request that is about to write
        makes the memo's version check (:meth:`_read`) a cost, not a saving."""
        if not token or len(token) > 200:
            return None
        session = self._read(token) if remembered else self._row(token)
        if session is None:
            return None
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

    def rotated_away(self, token: str) -> bool:
        """True for a token a sign-in or sign-out replaced moments ago (asked
        only when :meth:`load` found nothing: a stale cookie, rarely)."""
        if not token or len(token) > 200:
            return False
        with self.read_engine.connect() as conn:
            return was_rotated(conn, hash_token(token))

    def _read(self, token: str) -> SessionRow | None:
        """The stored session for ``token``. On a SQLite file, a row this
        thread read since the database last changed is not read again
        (:mod:`store.threadreads`): a repeat view costs a version check."""
        reads = self._thread_reads
        memo = None
        if reads is not None:
            try:
                memo = reads.memo()
            except reads.errors:
                memo = None  # the read below says what failed
            else:
                found = memo.get(token)
                if found is not None:
                    return found  # type: ignore[no-any-return]
        session = self._row(token)
        if session is not None and memo is not None:
            reads.remember(token, session, text_bytes(session.cache_key) + 400)  # type: ignore[union-attr]
        return session

    def _row(self, token: str) -> SessionRow | None:
        row = self._fetch(hash_token(token))
        return None if row is None else SessionRow.from_row(row)

    def _fetch(self, token_hash: str, retry: bool = True) -> Any:
        if self._thread_reads is not None and retry:
            try:
                return self._thread_reads.fetchone(self._load_sql, (True, token_hash))
            except self._thread_reads.errors:
                pass  # once more on a pooled connection, which says what failed
        try:
            raw = self.read_engine.raw_connection()
        except (DBAPIError, TimeoutError, self.read_engine.dialect.loaded_dbapi.Error):
            raise StoreUnavailable() from None  # no connection to be had: a fresh one failed
        try:
            cursor = raw.cursor()
            cursor.execute(self._load_sql, (True, token_hash))
            row = cursor.fetchone()
            cursor.close()
        except self.read_engine.dialect.loaded_dbapi.OperationalError:
            raw.invalidate()  # a connection the server dropped: try once on a fresh one
            if not retry:
                raise StoreUnavailable() from None
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
                content_key=session.content_key,
            )
            self.identities.put(key, found)
        return found

    # -- writes ------------------------------------------------------------
    def create(self, visitor_id: str | None = None) -> tuple[str, SessionRow]:
        """A new anonymous session; ``visitor_id`` must be one :meth:`is_our_visitor` accepts."""
        token = new_session_token()
        now = now_ms()
        row = SessionRow(hash_token(token), visitor_id or self.visitor_ids.issue(), None, False, "{}", "{}", now)
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

    def is_our_visitor(self, visitor_id: str) -> bool:
        return self.visitor_ids.is_ours(visitor_id)

    @contextmanager
    def change(self, session: SessionRow) -> Iterator[SessionChange]:
        """Every change to a session in one transaction: all of it lands or none.
        ``session`` is what the request loaded; the change works on its row as
        it is now, locked (409 ``session_rotated`` when its token was rotated
        away meanwhile)."""
        with self.engine.begin() as conn:
            tx = SessionChange(conn, lock(conn, session.token_hash))
            yield tx
            tx.finish()

    def delete_expired(self) -> int:
        """Remove sessions idle past the TTL (they can never be used again), and
        rotated tokens past their grace period."""
        now = now_ms()
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM rotated_tokens WHERE expires_at < :t"), {"t": now})
            return conn.execute(text("DELETE FROM sessions WHERE last_seen < :t"),
                                {"t": now - self.ttl_ms}).rowcount

    def set_trusted(self, user_id: str, trusted: dict[str, Any]) -> None:
        """Server-to-server trusted metadata (the admin API)."""
        with self.engine.begin() as conn:
            upsert_profile(conn, user_id, {}, trusted)

    def profile(self, user_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT claimed, trusted FROM users WHERE user_id = :u"), {"u": user_id}
            ).first()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))
