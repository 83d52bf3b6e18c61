"""Attachment rows: reserved when an upload starts, stored when its file is,
claimed by one submission in that submission's transaction, gone at erasure or
after their lifetime unclaimed. The files are in the storage (``storage``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, or_, select, text, update

from .db import now_ms
from .tables import attachments as A
from .tables import submissions as T
from .tables import submissions_of_user

HOUR_MS = 3600 * 1000
CLAIM = (update(A).where(A.c.id.in_(bindparam("ids", expanding=True)), A.c.session_hash == bindparam("h"),
                         A.c.status == "stored", A.c.submission_id.is_(None), A.c.expires_at > bindparam("now"))
         .values(submission_id=bindparam("sid"), expires_at=bindparam("forever")))
FOREVER = 2**62  # a claimed file lives as long as its submission


class BudgetExceeded(Exception):
    """The session has used its hourly upload budget."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("upload budget used")
        self.retry_after_s = retry_after_s


class UploadsGone(Exception):
    """Uploads a submission named were claimed, expired or removed meanwhile."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = tuple(ids)


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    storage_key: str
    status: str
    session_hash: str
    form: str
    field: str
    name: str
    type: str | None
    size: int | None
    submission_id: str | None
    expires_at: int

    @classmethod
    def from_row(cls, row: Any) -> Attachment:
        return cls(row.id, row.storage_key, row.status, row.session_hash, row.form, row.field, row.name, row.type,
                   row.size, row.submission_id, row.expires_at)

    def meta(self) -> dict[str, Any]:
        """What a submission stores for it (links are made when it is read)."""
        return {"id": self.id, "name": self.name, "size": self.size, "type": self.type}


def new_id() -> str:
    return "upl_" + secrets.token_hex(16)


class AttachmentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- an upload ------------------------------------------------------------
    def reserve(self, *, session_hash: str, visitor_id: str, user_id: str | None, form: str, field: str,
                name: str, want: int, budget: int, ttl_ms: int) -> tuple[str, str, int]:
        """Start an upload of at most ``want`` bytes: (id, storage key, the bytes
        it may have), less when the session's budget for the hour has less left;
        :class:`BudgetExceeded` when it has none. The reservation and the count
        are one transaction, under the session's row lock (PostgreSQL) or the write
        lock (SQLite), so parallel uploads cannot each see the whole budget."""
        now = now_ms()
        ident = new_id()
        key = f"{ident[4:6]}/{ident[6:8]}/{ident}"
        with self.engine.begin() as conn:
            # A write first: the session's row lock on PostgreSQL, the write lock on
            # SQLite (whose driver begins the transaction only at a write, so a
            # count read before it raced a parallel upload's; seen on Python 3.13).
            conn.execute(text("UPDATE sessions SET last_seen = last_seen WHERE token_hash = :h"), {"h": session_hash})
            used = self._used(conn, session_hash, now)
            allowed = min(want, budget - used)
            if allowed <= 0:
                oldest = conn.execute(select(func.min(A.c.created_at)).where(
                    A.c.session_hash == session_hash, A.c.created_at > now - HOUR_MS)).scalar() or now
                raise BudgetExceeded(max(1, (oldest + HOUR_MS - now) // 1000))
            conn.execute(A.insert().values(
                id=ident, storage_key=key, status="receiving", session_hash=session_hash, visitor_id=visitor_id,
                user_id=user_id, form=form, field=field, name=name, reserved=allowed, created_at=now,
                expires_at=now + ttl_ms))
        return ident, key, allowed

    @staticmethod
    def _used(conn: Connection, session_hash: str, now: int) -> int:
        return int(conn.execute(select(func.coalesce(func.sum(A.c.reserved), 0)).where(
            A.c.session_hash == session_hash, A.c.created_at > now - HOUR_MS)).scalar() or 0)

    def stored(self, ident: str, *, size: int, type_: str, fingerprint: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(A).where(A.c.id == ident).values(
                status="stored", size=size, reserved=size, type=type_, fingerprint=fingerprint))

    def refused(self, ident: str, read: int) -> None:
        """A refused upload keeps its row (without a file) while it counts: the
        bytes it made us read stay in the session's budget for the hour."""
        with self.engine.begin() as conn:
            conn.execute(update(A).where(A.c.id == ident).values(status="refused", reserved=read,
                                                                 expires_at=now_ms() + HOUR_MS))

    # -- reading --------------------------------------------------------------
    def get_many(self, ids: Iterable[str]) -> dict[str, Attachment]:
        ids = list(ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(A).where(A.c.id.in_(ids))).all()
        return {r.id: Attachment.from_row(r) for r in rows}

    def get(self, ident: str) -> Attachment | None:
        return self.get_many([ident]).get(ident)

    # -- claiming -------------------------------------------------------------
    @staticmethod
    def claim(conn: Connection, ids: Sequence[str], session_hash: str, submission_id: str) -> None:
        """Inside a submission's transaction: its uploads become its attachments,
        all or none (:class:`UploadsGone` rolls the submission back)."""
        claimed = conn.execute(CLAIM, {"ids": list(ids), "h": session_hash, "now": now_ms(), "sid": submission_id,
                                       "forever": FOREVER}).rowcount
        if claimed != len(ids):
            raise UploadsGone(ids)

    # -- removal ----------------------------------------------------------------
    def expired(self, limit: int = 500) -> list[tuple[str, str]]:
        """(id, storage key) of unclaimed uploads past their lifetime."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(A.c.id, A.c.storage_key).where(
                A.c.submission_id.is_(None), A.c.expires_at < now_ms()).limit(limit)).all()
        return [(r.id, r.storage_key) for r in rows]

    def forget(self, ids: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(A).where(A.c.id.in_(list(ids)), A.c.submission_id.is_(None)))

    def of_user(self, conn: Connection, user_id: str) -> list[str]:
        """Storage keys of a user's files: uploaded while the session was theirs,
        or attached to a submission made by or linked to them (erasure)."""
        theirs = select(T.c.id).where(submissions_of_user(user_id)).scalar_subquery()
        rows = conn.execute(select(A.c.storage_key).where(
            or_(A.c.user_id == user_id, A.c.submission_id.in_(theirs)))).all()
        return [r.storage_key for r in rows]

    @staticmethod
    def delete_of_user(conn: Connection, user_id: str) -> None:
        theirs = select(T.c.id).where(submissions_of_user(user_id)).scalar_subquery()
        conn.execute(delete(A).where(or_(A.c.user_id == user_id, A.c.submission_id.in_(theirs))))

    def keys(self) -> Iterator[str]:
        with self.engine.connect() as conn:
            for row in conn.execute(select(A.c.storage_key)):
                yield row.storage_key

    def by_submission(self, submission_ids: Sequence[str]) -> dict[str, list[Attachment]]:
        if not submission_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(A).where(A.c.submission_id.in_(list(submission_ids)))).all()
        out: dict[str, list[Attachment]] = {}
        for r in rows:
            out.setdefault(r.submission_id, []).append(Attachment.from_row(r))
        return out
