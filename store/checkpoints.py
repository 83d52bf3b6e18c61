"""SQLite's WAL checkpoints, moved off the requests.

A commit appends to the write-ahead log; now and then the log's pages are
copied back into the database file (a checkpoint, with its fsyncs). By
default the commit that finds the log over 1,000 pages does it, and that
request waits for the copy: the slowest submits. Here each process keeps one
thread that checkpoints after every ``every`` connections returned to the
pool, while requests go on: the copy and the fsyncs run in SQLite, outside
the GIL. Durability is unchanged (a commit is in the log before it is
acknowledged, as before), and a request's connection still checkpoints
itself past ``SAFETY_PAGES``: while writes go on the log is seldom all
copied at an instant a writer could start it afresh, so that commit is what
restarts it (copying the little the thread has not).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

EVERY = 32  # connections returned (a submit returns one) between two checkpoints
IDLE_S = 30.0  # a thread not asked for a checkpoint this long ends (an idle worker holds none)
JOIN_S = 5.0  # how long close() waits for a checkpoint under way
SAFETY_PAGES = 10_000  # a request's commit checkpoints past this log size (40 MiB); SQLite's default is 1,000

_ALL: weakref.WeakSet[Checkpoints] = weakref.WeakSet()


class Checkpoints:
    """The checkpointing thread of a process, started at the first nudge in
    that process (a server forks its workers after building the app)."""

    def __init__(self, engine: Engine, every: int = EVERY) -> None:
        self.engine = engine
        self.every = every
        self.done = 0  # checkpoints run by this process's thread
        self.failures = 0  # and those that failed
        self.last: tuple[int, int, int] | None = None  # (busy, log pages, pages checkpointed)
        self._closed = False
        self._failing = False
        self._forget()
        event.listen(engine, "connect", _safety_net)
        event.listen(engine, "checkin", self._checkin)
        _ALL.add(self)

    def _forget(self) -> None:
        """No thread in this process (a new one, or a forked child: the
        parent's thread, and its hold on the lock, did not come along)."""
        self._returned = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        # Reentrant: SQLAlchemy's clean-up of a collected connection checks it in from anywhere.
        self._lock = threading.RLock()

    def _checkin(self, _conn: Any, _record: Any) -> None:
        self._returned += 1  # a lost count under threads only delays a checkpoint
        if self._returned >= self.every:
            self._returned = 0
            self.nudge()

    def nudge(self) -> None:
        """Ask this process's thread for a checkpoint (starting it if needed)."""
        with self._lock:  # once per ``every`` check-ins: never lost to a thread that is ending
            if self._closed:
                return
            if self._thread is None:
                self._wake = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._wake,), name="prefill-checkpoints",
                                                daemon=True)
                self._thread.start()
            self._wake.set()

    def close(self) -> None:
        """End the thread (an app's teardown), after the checkpoint under way;
        requests then checkpoint past the safety net."""
        with self._lock:
            self._closed = True
            self._wake.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_S)

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
        woken = wake.wait(IDLE_S)
        with self._lock:
            if self._closed or not (woken or wake.is_set()):
                self._thread = None
                return False
            wake.clear()
            return True

    def _checkpoint(self, conn: Any) -> Any:
        """One passive checkpoint (it waits for no reader or writer); the
        connection to use next time, None after a failure."""
        try:
            if conn is None:
                held = self.engine.raw_connection()
                held.detach()  # the thread's own, never counted against the pool
                conn = held.dbapi_connection
            cursor = conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.last = tuple(cursor.fetchone())  # type: ignore[assignment]
            cursor.close()
            self.done += 1
            if self._failing:
                self._failing = False
                log.warning("WAL checkpoints work again")
            return conn
        except Exception:  # any failure: the requests' own checkpoints take over
            self.failures += 1
            if not self._failing:  # once per run of failures, not every ``every`` check-ins
                self._failing = True
                log.warning("WAL checkpoint failed; requests will checkpoint past %d pages", SAFETY_PAGES,
                            exc_info=True)
            if conn is not None:
                conn.close()
            return None


def _safety_net(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}").close()


def _after_fork() -> None:
    for checkpoints in list(_ALL):
        checkpoints._forget()


os.register_at_fork(after_in_child=_after_fork)


def checkpoints(engine: Engine) -> Checkpoints | None:
    """Checkpoints off the requests for a SQLite file in WAL mode; None for
    anything else (PostgreSQL checkpoints in its own processes)."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:") or "memory" in str(url.query):
        return None
    return Checkpoints(engine)
