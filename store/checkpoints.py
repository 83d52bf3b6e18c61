"""SQLite's WAL checkpoints, moved off the requests.

A commit appends to the write-ahead log; now and then the log's pages are
copied back into the database file (a checkpoint, with its fsyncs). By
default the commit that finds the log over 1,000 pages does it, and that
request waits for the copy: the slowest submits. Here each process keeps one
thread that checkpoints after every ``every`` connections returned to the
pool, while requests go on: the copy and the fsyncs run in SQLite, outside
the GIL. Durability is unchanged (a commit is in the log before it is
acknowledged, as before), and a request's connection still checkpoints
itself past ``SAFETY_PAGES``, should the thread ever fall behind or fail.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

EVERY = 32  # connections returned (a submit returns one) between two checkpoints
IDLE_S = 30.0  # a thread with nothing to do for this long ends (an idle process holds none)
# Commits that land while a checkpoint copies leave the log not quite copied,
# and only a fully copied log is started afresh (else it grows to the safety
# net): the few new pages are copied in up to this many more passes.
PASSES = 4
SAFETY_PAGES = 10_000  # a request's commit checkpoints past this log size (40 MiB); SQLite's default is 1,000


class Checkpoints:
    """The checkpointing thread of a process, started at the first write in
    that process (a server forks its workers after building the app)."""

    def __init__(self, engine: Engine, every: int = EVERY) -> None:
        self.engine = engine
        self.every = every
        self.done = 0  # checkpoints run by this process's thread
        self.last: tuple[int, int, int] | None = None  # (busy, log pages, pages checkpointed)
        self._returned = 0
        self._closed = False
        self._pid = 0
        self._wake = threading.Event()
        self._lock = threading.Lock()
        event.listen(engine, "connect", _safety_net)
        event.listen(engine, "checkin", self._checkin)

    def _checkin(self, _conn: Any, _record: Any) -> None:
        self._returned += 1  # a lost count under threads only delays a checkpoint
        if self._returned >= self.every:
            self._returned = 0
            self.nudge()

    def nudge(self) -> None:
        """Ask this process's thread for a checkpoint (starting it if needed)."""
        if self._closed:
            return
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._wake = threading.Event()  # a forked child's copy may be set; its thread is not here
                    threading.Thread(target=self._run, args=(self._wake,), name="prefill-checkpoints",
                                     daemon=True).start()
                    self._pid = os.getpid()
        self._wake.set()

    def _run(self, wake: threading.Event) -> None:
        conn = None
        try:
            while self._wait(wake):
                conn = self._checkpoint(conn)
        finally:
            if conn is not None:
                conn.close()

    def _wait(self, wake: threading.Event) -> bool:
        """Whether to checkpoint: False once closed, or idle for ``IDLE_S``
        (the next nudge then starts another thread)."""
        if not wake.wait(IDLE_S):
            with self._lock:
                if not wake.is_set():
                    self._pid = 0
                    return False
        wake.clear()
        return not self._closed

    def _checkpoint(self, conn: Any) -> Any:
        """One passive checkpoint (it waits for no reader or writer); the
        connection to use next time, None after a failure."""
        try:
            if conn is None:
                held = self.engine.raw_connection()
                held.detach()  # the thread's own, never counted against the pool
                conn = held.dbapi_connection
            for _ in range(PASSES):
                cursor = conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.last = busy, frames, copied = cursor.fetchone()
                cursor.close()
                if busy or copied >= frames:
                    break  # all copied: the next writer starts the log afresh
            self.done += 1
            return conn
        except Exception:  # any failure: the requests' own checkpoints take over
            log.warning("WAL checkpoint failed; requests will checkpoint past %d pages", SAFETY_PAGES,
                        exc_info=True)
            if conn is not None:
                conn.close()
            return None

    def close(self) -> None:
        """End the thread (an app's teardown); requests checkpoint past the safety net."""
        self._closed = True
        self._wake.set()


def _safety_net(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}").close()


def checkpoints(engine: Engine) -> Checkpoints | None:
    """Checkpoints off the requests for a SQLite file in WAL mode; None for
    anything else (PostgreSQL checkpoints in its own processes)."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:") or "memory" in str(url.query):
        return None
    return Checkpoints(engine)
