"""The webhook outbox: rows written with the submission, claimed by workers.

Claiming takes a lease (``next_attempt_at`` moves past the delivery timeout) in
a short transaction with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
workers never deliver one item at once, and a crashed worker's item comes back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update

from forms.validate import CleanSubmission

from . import cursor as cursors
from .db import iso, now_ms
from .tables import webhook_deliveries as W


def payload_for(row: dict[str, Any], clean: CleanSubmission, values: dict[str, Any] | None = None) -> str:
    """The exact body that is signed and sent; ``values`` replaces the stored
    ones (file fields with their signed links)."""
    return json.dumps({
        "event": "submission.created",
        "submission": {
            "id": row["id"], "form": row["form"], "values": clean.values if values is None else values,
            "userId": row["user_id"], "visitorId": row["visitor_id"], "verified": row["verified"],
            "prefilled": clean.prefilled, "changed": clean.changed, "sources": clean.sources,
            "createdAt": iso(row["created_at"]),
            **({"adhoc": True} if row.get("schema") is not None else {}),
        },
    }, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Claimed:
    id: str
    submission_id: str
    payload: str
    attempts: int  # including this one


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, limit: int, lease_ms: int) -> list[Claimed]:
        now = now_ms()
        query = (select(W.c.id, W.c.submission_id, W.c.payload, W.c.attempts)
                 .where(W.c.status == "pending", W.c.next_attempt_at <= now)
                 .order_by(W.c.next_attempt_at).limit(limit))
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            for r in rows:
                conn.execute(update(W).where(W.c.id == r.id).values(
                    attempts=r.attempts + 1, next_attempt_at=now + lease_ms))
        return [Claimed(r.id, r.submission_id, r.payload, r.attempts + 1) for r in rows]

    def still_due(self, item: Claimed) -> bool:
        """False when the delivery went away after it was claimed (the user was
        erased): checked right before sending, so an erased user's data is not sent."""
        with self.engine.connect() as conn:
            return conn.execute(select(W.c.id).where(W.c.id == item.id, W.c.status == "pending")).first() is not None

    def delivered(self, item: Claimed) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(W).where(W.c.id == item.id, W.c.status == "pending").values(
                status="delivered", delivered_at=now_ms(), last_error=None))

    def retry(self, item: Claimed, error: str, delay_ms: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(W).where(W.c.id == item.id, W.c.status == "pending").values(
                last_error=error[:500], next_attempt_at=now_ms() + delay_ms))

    def failed(self, item: Claimed, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(W).where(W.c.id == item.id, W.c.status == "pending").values(
                status="failed", last_error=error[:500]))

    def list(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        query = select(W)
        if status:
            query = query.where(W.c.status == status)
        if cursor:
            at, ident = cursors.decode(cursor)
            query = query.where((W.c.created_at < at) | ((W.c.created_at == at) & (W.c.id < ident)))
        query = query.order_by(W.c.created_at.desc(), W.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = [{
            "id": r.id, "submissionId": r.submission_id, "status": r.status, "attempts": r.attempts,
            "lastError": r.last_error,
            "nextAttemptAt": iso(r.next_attempt_at) if r.status == "pending" else None,
            "deliveredAt": iso(r.delivered_at) if r.delivered_at else None,
        } for r in rows[:limit]]
        nxt = cursors.encode(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
        return items, nxt
