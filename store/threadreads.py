"""One SQLite connection per thread for the per-request identity read.

Checking a pooled connection out and back in (SQLAlchemy's bookkeeping, and
its rollback on return) costs as much as the read itself: ~5 of ~11 µs. A
SQLite file needs no pool for reads. Each thread keeps its own connection,
opened through the engine so it gets the same settings (WAL, busy timeout),
then detached from the pool so it never counts against it. A statement run
outside a transaction holds no snapshot once its cursor is closed, so the
next read sees every commit. PostgreSQL keeps its pool: a connection per
thread of every worker would be too many server processes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine


class ThreadReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._held: list[Any] = []  # every thread's, for close()

    def fetchone(self, sql: str, params: Sequence[Any]) -> Any:
        """The first row of ``sql``; a driver error drops this thread's
        connection (the next read opens another) and is raised."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None:
            held = self.engine.raw_connection()
            held.detach()  # ours now: closed with this thread (or an error), never returned to the pool
            local.held, conn = held, held.dbapi_connection
            local.conn = conn
            self._held.append(held)
        try:
            cursor = conn.execute(sql, params)
            row = cursor.fetchone()
            cursor.close()  # resets the statement: no read snapshot is kept
        except self.errors:
            held, local.held, local.conn = local.held, None, None
            self._drop(held)
            raise
        return row

    def close(self) -> None:
        """Close every thread's connection (an app's teardown; a thread still
        reading gets an error, drops its connection and opens another)."""
        for held in list(self._held):
            self._drop(held)

    def _drop(self, held: Any) -> None:
        try:
            self._held.remove(held)
        except ValueError:
            pass  # closed already
        held.close()


def thread_reads(engine: Engine) -> ThreadReads | None:
    """Per-thread reads for a SQLite file; None for anything else (an
    in-memory SQLite database is a new, empty one per connection)."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:") or "memory" in str(url.query):
        return None
    return ThreadReads(engine)
