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
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

MEMO_BYTES = 256 * 1024  # per thread: the memo is emptied when it would hold more


class _Reader:
    """One thread's connection and memo. Only its thread's local holds it:
    when the thread ends, the reader goes, and its finalizer closes the
    connection (a server that starts a thread per request leaks none)."""

    __slots__ = ("__weakref__", "close", "conn", "memo", "memo_bytes", "version")

    def __init__(self, held: Any) -> None:
        self.conn = held.dbapi_connection
        self.close = weakref.finalize(self, held.close)  # at the thread's end, or when dropped
        self.version: int | None = None  # data_version is per connection: a new one starts a new memo
        self.memo: dict[Any, Any] = {}
        self.memo_bytes = 0


class ThreadReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()  # every live thread's, for close()

    def _reader(self) -> _Reader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            held = self.engine.raw_connection()
            held.detach()  # ours now: never returned to the pool
            reader = self._local.reader = _Reader(held)
            self._readers.add(reader)
        return reader  # type: ignore[no-any-return]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of ``sql``; a driver error drops this thread's
        connection (the next read opens another) and is raised."""
        reader = self._reader()
        try:
            cursor = reader.conn.execute(sql, params)
            row = cursor.fetchone()
            cursor.close()  # resets the statement: no read snapshot is kept
        except self.errors:
            self._local.reader = None
            self._drop(reader)
            raise
        return row

    def memo(self) -> dict[Any, Any]:
        """This thread's remembered reads, all made since the database last
        changed (emptied here when it has); :meth:`remember` adds to it."""
        version = self.fetchone("PRAGMA data_version")[0]
        reader = self._reader()
        if reader.version != version:
            reader.version, reader.memo, reader.memo_bytes = version, {}, 0
        return reader.memo

    def remember(self, key: Any, value: Any, size: int) -> None:
        """Keep ``value`` (about ``size`` bytes) in the memo :meth:`memo` gave."""
        reader = self._reader()
        if reader.memo_bytes + size > MEMO_BYTES:
            reader.memo.clear()
            reader.memo_bytes = 0
        reader.memo[key] = value
        reader.memo_bytes += size

    def close(self) -> None:
        """Close every live thread's connection (an app's teardown; a thread
        still reading gets an error, drops its reader and opens another)."""
        for reader in list(self._readers):
            self._drop(reader)

    def _drop(self, reader: _Reader) -> None:
        self._readers.discard(reader)
        reader.close()


def thread_reads(engine: Engine) -> ThreadReads | None:
    """Per-thread reads for a SQLite file; None for anything else (an
    in-memory SQLite database is a new, empty one per connection)."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:") or "memory" in str(url.query):
        return None
    return ThreadReads(engine)
