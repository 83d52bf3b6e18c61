"""Submissions: stored with their idempotency key and webhook outbox row in one
transaction, so an acknowledged submission is never lost or duplicated."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from forms.errors import IdempotencyConflict
from forms.identity import Identity
from forms.sensitive import SensitiveKeys
from forms.validate import CleanSubmission

from . import cursor as cursors
from . import rawsql
from .attachments import AttachmentStore, UploadsGone
from .db import dumps, iso, now_ms
from .outbox import payload_for
from .tables import idempotency_keys as K
from .tables import sessions as S
from .tables import submissions as T
from .tables import submissions_of_user
from .tables import users as U
from .tables import webhook_deliveries as W

IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000

# Built once: executed with a parameter dict, a statement is compiled once and its
# cache key is constant (the submit's own inserts: store.rawsql).
FIND_KEY = select(K.c.request_hash, K.c.status, K.c.response, K.c.created_at).where(
    K.c.visitor_id == bindparam("visitor_id"), K.c.key == bindparam("key"))
DELETE_KEY = delete(K).where(K.c.visitor_id == bindparam("visitor_id"), K.c.key == bindparam("key"))


def ordered_id(prefix: str, now: int) -> str:
    """``prefix``, the time in ms (12 hex digits) and 48 random bits: an id
    made later sorts later, so each insert adds to the end of the primary
    key's index where a random one touched another of its pages each time
    (~12% of a SQLite submit's write). As long as before, and unguessable:
    seeing one still needs the session or admin rights it always needed."""
    return f"{prefix}{now:012x}{secrets.token_hex(6)}"


def item_from_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "form": row.form,
        "args": json.loads(row.args),
        "values": json.loads(row.values),
        "userId": row.owner_id or row.user_id,
        "visitorId": row.visitor_id,
        "verified": bool(row.verified),
        "prefilled": json.loads(row.prefilled),
        "changed": json.loads(row.changed),
        "sources": json.loads(row.sources),
        "createdAt": iso(row.created_at),
        **({"adhoc": True, "schema": json.loads(row.schema)} if row.schema is not None else {}),
    }


class SubmissionStore:
    def __init__(self, engine: Engine, sensitive: SensitiveKeys, webhooks: bool = False,
                 autocommit: Engine | None = None) -> None:
        self.engine = engine
        self.sensitive = sensitive
        self.webhooks = webhooks
        # PostgreSQL's autocommit pool (store.db.make_read_engine): a keyed submit is one statement on it.
        self.autocommit = autocommit if engine.dialect.name == "postgresql" else None
        self._statements = {keyed: self._compile(engine.dialect, keyed) for keyed in (False, True)}

    def _compile(self, dialect: Any, keyed: bool) -> list[rawsql.Compiled]:
        """The submit's inserts: the submission, its key, its webhook delivery.
        PostgreSQL takes them as one statement (data-modifying CTEs): one round trip."""
        parts = [rawsql.insert_sql(T, "s_", dialect)]
        if keyed:
            parts.append(rawsql.insert_sql(K, "k_", dialect))
        if self.webhooks:
            parts.append(rawsql.insert_sql(W, "d_", dialect))
        if dialect.name != "postgresql" or len(parts) == 1:
            return parts
        *first, last = parts
        ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(first))
        return [(f"WITH {ctes} {last[0]}", None)]

    # -- writing ------------------------------------------------------------
    def replay(self, visitor_id: str, key: str, digest: str) -> tuple[int, dict[str, Any], str] | None:
        """The first answer for ``key`` (same body) as (status, body, its JSON
        text), or None; 409 for another body."""
        with self.engine.begin() as conn:
            return self._replay(conn, visitor_id, key, digest)

    def _replay(self, conn: Any, visitor_id: str, key: str, digest: str) -> tuple[int, dict[str, Any], str] | None:
        row = conn.execute(FIND_KEY, {"visitor_id": visitor_id, "key": key}).first()
        if row is None:
            return None
        if row.created_at < now_ms() - IDEMPOTENCY_TTL_MS:
            conn.execute(DELETE_KEY, {"visitor_id": visitor_id, "key": key})
            return None
        if row.request_hash != digest:
            raise IdempotencyConflict()
        return row.status, json.loads(row.response), row.response

    def create(
        self,
        *,
        form: str,
        args: dict[str, str],
        clean: CleanSubmission,
        identity: Identity,
        visitor_id: str,
        idempotency_key: str | None = None,
        digest: str | None = None,
        schema: dict[str, Any] | None = None,
        claims: tuple[str, ...] = (),
        session_hash: str = "",
        webhook_values: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any], bool, str]:
        """Store one submission; (status, body, replayed, the body's JSON text:
        serialised once, for the key's row and the answer). Replays store nothing.

        The unique key in the database settles replays and races: a key already
        used makes the whole transaction roll back, and its first answer is
        returned (409 for another body). Calling :meth:`replay` first is optional.
        ``schema`` is an ad-hoc form's own (client-defined) schema, kept with it.
        ``claims``: upload ids of session ``session_hash`` that become this
        submission's attachments in its transaction (:class:`UploadsGone` when
        one is no longer there to claim: nothing is written). ``webhook_values``:
        the values as the webhook sends them (file fields with their links).
        """
        now = now_ms()
        sid = ordered_id("sub_", now)
        verified = identity.is_verified
        row = {
            "id": sid, "form": form, "args": dumps(args), "values": dumps(clean.values),
            "user_id": identity.user_id, "owner_id": identity.user_id if verified else None,
            "visitor_id": visitor_id, "verified": verified,
            "session_metadata": dumps(self.sensitive.scrub(identity.session_metadata)),
            "prefilled": dumps(clean.prefilled), "changed": dumps(clean.changed), "sources": dumps(clean.sources),
            "schema": dumps(schema) if schema is not None else None, "created_at": now,
        }
        body = {"id": sid, "form": form, "values": clean.values, "createdAt": iso(now)}
        if schema is not None:
            body["adhoc"] = True
        text = dumps(body)
        params = {f"s_{k}": v for k, v in row.items()}
        if idempotency_key:
            params.update(k_visitor_id=visitor_id, k_key=idempotency_key, k_request_hash=digest or "", k_status=201,
                          k_response=text, k_submission_id=sid, k_created_at=now)
        if self.webhooks:
            params.update(d_id=ordered_id("dlv_", now), d_submission_id=sid,
                          d_payload=payload_for(row, clean, webhook_values),
                          d_status="pending", d_attempts=0, d_last_error=None, d_next_attempt_at=now,
                          d_delivered_at=None, d_created_at=now)
        statements = self._statements[bool(idempotency_key)]
        for attempt in (1, 2):
            try:
                if claims:
                    self._create_claiming(params, claims, session_hash, sid)
                elif idempotency_key and self.autocommit is not None:
                    # One statement on an autocommit connection: one round trip, atomic. A
                    # connection found dead is retried once: the key makes a retry safe.
                    try:
                        rawsql.run(self.autocommit, statements, params)
                    except OperationalError:
                        rawsql.run(self.autocommit, statements, params)
                else:
                    rawsql.run(self.engine, statements, params)
                break
            except (IntegrityError, UploadsGone) as exc:
                if not idempotency_key:
                    raise
                # With uploads: a concurrent twin may have claimed them first, under this key.
                # The key was used first (by a retry, or a concurrent request): nothing of
                # this one was written; answer as the first did (or 409 for another body).
                with self.engine.begin() as conn:
                    found = self._replay(conn, visitor_id, idempotency_key, digest or "")
                if found is not None:
                    return found[0], found[1], True, found[2]
                if attempt == 2 or isinstance(exc, UploadsGone):
                    raise
                # The key had expired (its row is gone now): store this one after all.
        return 201, body, False, text

    def _create_claiming(self, params: dict[str, Any], claims: tuple[str, ...], session_hash: str,
                         sid: str) -> None:
        """A submission with uploads: its key first (a racing twin waits on it,
        then fails), the rows, then the claim, in one transaction."""
        def part(prefix: str) -> dict[str, Any]:
            return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}

        with self.engine.begin() as conn:
            if "k_key" in params:
                conn.execute(insert(K), part("k_"))
            conn.execute(insert(T), part("s_"))
            if "d_id" in params:
                conn.execute(insert(W), part("d_"))
            AttachmentStore.claim(conn, claims, session_hash, sid)

    def delete_old_idempotency_keys(self) -> int:
        """Keys older than 24 h no longer replay; their rows can go."""
        with self.engine.begin() as conn:
            return conn.execute(delete(K).where(K.c.created_at < now_ms() - IDEMPOTENCY_TTL_MS)).rowcount

    # -- reading ------------------------------------------------------------
    def _page(self, query: Any, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        if cursor:
            at, ident = cursors.decode(cursor)
            query = query.where(or_(T.c.created_at < at, and_(T.c.created_at == at, T.c.id < ident)))
        query = query.order_by(T.c.created_at.desc(), T.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = [item_from_row(r) for r in rows[:limit]]
        nxt = cursors.encode(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
        return items, nxt

    @staticmethod
    def _visible(identity: Identity, visitor_id: str | None) -> Any:
        """What this session may see: a verified user's own history, else the
        visitor's own submissions that belong to no verified user (None: nothing)."""
        if identity.is_verified:
            return select(T).where(T.c.owner_id == identity.user_id)
        if visitor_id is None:
            return None
        claimed = T.c.user_id.is_(None) if identity.user_id is None else T.c.user_id == identity.user_id
        return select(T).where(T.c.visitor_id == visitor_id, T.c.owner_id.is_(None), claimed)

    def history(self, identity: Identity, visitor_id: str | None, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        query = self._visible(identity, visitor_id)
        return ([], None) if query is None else self._page(query, limit, cursor)

    def one(self, sid: str, identity: Identity, visitor_id: str | None) -> dict[str, Any] | None:
        """Submission ``sid`` if this session may see it (the thanks page)."""
        query = self._visible(identity, visitor_id)
        if query is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(query.where(T.c.id == sid)).first()
        return item_from_row(row) if row is not None else None

    def admin_query(self, form: str | None, user_id: str | None, since_ms: int | None) -> Any:
        query = select(T)
        if form:
            query = query.where(T.c.form == form)
        if user_id:
            query = query.where(submissions_of_user(user_id))
        if since_ms is not None:
            query = query.where(T.c.created_at >= since_ms)
        return query

    def admin_list(self, form: str | None, user_id: str | None, since_ms: int | None,
                   limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self._page(self.admin_query(form, user_id, since_ms), limit, cursor)

    def admin_iter(self, form: str | None, user_id: str | None, since_ms: int | None,
                   batch: int = 500) -> Iterator[dict[str, Any]]:
        """Every matching submission, newest first, fetched in keyset batches."""
        cursor = None
        while True:
            items, cursor = self.admin_list(form, user_id, since_ms, batch, cursor)
            yield from items
            if cursor is None:
                return

    # -- erasure ------------------------------------------------------------
    def erase_user(self, user_id: str, storage: Any = None) -> None:
        """GDPR erasure: profile, submissions, their files (from ``storage``, a
        ``storage.Storage``, first: a failure there leaves the rows to retry
        with), deliveries and keys; sessions detached."""
        mine = submissions_of_user(user_id)
        files = AttachmentStore(self.engine)
        if storage is not None:
            with self.engine.connect() as conn:
                keys = files.of_user(conn, user_id)
            for key in keys:
                storage.delete(key)
        with self.engine.begin() as conn:
            files.delete_of_user(conn, user_id)
            ids = select(T.c.id).where(mine).scalar_subquery()
            conn.execute(delete(W).where(W.c.submission_id.in_(ids)))
            conn.execute(delete(K).where(K.c.submission_id.in_(ids)))
            conn.execute(delete(T).where(mine))
            conn.execute(delete(U).where(U.c.user_id == user_id))
            conn.execute(update(S).where(S.c.user_id == user_id).values(
                user_id=None, verified=False, claimed="{}", session_metadata="{}"))
