"""One SQLite connection per thread for the per-request identity read, and
what that thread read while the database has not changed.

Checking a pooled connection out and back in (SQLAlchemy's bookkeeping, and
its rollback on return) costs as much as the read itself. A SQLite file needs
no pool for reads. Each thread keeps its own connection, opened through the
engine so it gets the same settings (WAL, busy timeout), then detached from
the pool so it never counts against it. A statement run outside a
transaction holds no snapshot once its cursor is closed, so the next read
sees every commit.

``PRAGMA data_version`` changes whenever any other connection, in any
process, has committed: while it has not, a row this thread read is still
what the database holds. :meth:`ThreadReads.memo` keeps such rows, and
forgets them all at the first change (a sign-out, an identify, a submission
anywhere). Asking costs a fraction of the read it saves, and no one's
change is ever missed, as a time-based cache would. PostgreSQL keeps its
pool and reads every time: a connection per thread of every worker would be
too many server processes, and it has no such counter.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

MEMO_BYTES = 256 * 1024  # per thread: the memo is emptied when it would hold more


class ThreadReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._held: list[Any] = []  # every thread's, for close()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of ``sql``; a driver error drops this thread's
        connection (the next read opens another) and is raised."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None:
            held = self.engine.raw_connection()
            held.detach()  # ours now: closed with this thread (or an error), never returned to the pool
            local.held, conn = held, held.dbapi_connection
            local.conn = conn
            local.version = None  # data_version is per connection: a new one starts a new memo
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

    def memo(self) -> dict[Any, Any]:
        """This thread's remembered reads, all made since the database last
        changed (emptied here when it has); :meth:`remember` adds to it."""
        version = self.fetchone("PRAGMA data_version")[0]
        local = self._local
        if local.version != version:
            local.version, local.memo, local.memo_bytes = version, {}, 0
        return local.memo  # type: ignore[no-any-return]

    def remember(self, key: Any, value: Any, size: int) -> None:
        """Keep ``value`` (about ``size`` bytes) in the memo :meth:`memo` gave."""
        local = self._local
        if local.memo_bytes + size > MEMO_BYTES:
            local.memo.clear()
            local.memo_bytes = 0
        local.memo[key] = value
        local.memo_bytes += size

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
