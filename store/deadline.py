"""One deadline for all of a request's database calls.

Timeouts per call add up: a request that connects, reads, then writes waits
out each in turn against a database that accepts connections and never
answers. The web layer gives each request one allowance of database time;
every connect and every wait for the server on PostgreSQL is bounded by what
is left of it and spends from it (:mod:`store.pgconn`). Only time spent
waiting on the database counts, so a slow provider does not use it up.

Outside a request (the CLI, the webhook worker) there is none, and the
per-connection timeouts of :mod:`store.db` apply alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Allowance:
    """Seconds of database time left to one request; ``left <= 0`` when spent."""

    __slots__ = ("left",)

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def spend(self, seconds: float) -> None:
        self.left -= seconds


_current: ContextVar[Allowance | None] = ContextVar("prefill_db_deadline", default=None)


def start(seconds: float) -> None:
    """Give the current request ``seconds`` of database time in all (0: unbounded)."""
    _current.set(Allowance(seconds) if seconds > 0 else None)


def clear() -> None:
    _current.set(None)


def current() -> Allowance | None:
    return _current.get()


@contextmanager
def within(seconds: float) -> Iterator[Allowance | None]:
    """The database calls of the block share ``seconds`` (a script, a test)."""
    token = _current.set(Allowance(seconds) if seconds > 0 else None)
    try:
        yield _current.get()
    finally:
        _current.reset(token)
