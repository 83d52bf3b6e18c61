"""PostgreSQL connections that keep the request's database deadline (psycopg 3).

libpq's own timeouts do not see a server that accepts and never answers: the
kernel acknowledges what is sent, so ``tcp_user_timeout`` never fires and a
statement on a pooled connection waits forever. psycopg waits for the server
in one place, :meth:`psycopg.Connection.wait`; bounding it there bounds every
statement, commit and rollback.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import psycopg

from . import deadline

# psycopg, like libpq, waits at least 2 s for a connection, whatever is asked.
CONNECT_FLOOR_S = 2


class DeadlinePassed(psycopg.OperationalError):
    """The request's database time is spent: a 503, as for any unreachable database."""

    def __init__(self) -> None:
        super().__init__("no answer from the database within the request's deadline")


class DeadlineConnection(psycopg.Connection[Any]):
    """A connection whose every wait for the server ends at the request's deadline.

    A wait cut short leaves the protocol mid-message, so the connection is
    closed; SQLAlchemy then sees it as lost and never reuses it.
    """

    def wait(self, gen: Generator[Any, Any, Any], interval: float = 0.1, timeout: float | None = None) -> Any:
        allowance = deadline.current()
        if allowance is None:
            return super().wait(gen, interval, timeout)
        if allowance.left <= 0:
            gen.close()
            self.close()
            raise DeadlinePassed()
        began = time.monotonic()
        try:
            return super().wait(gen, interval, allowance.left if timeout is None else min(timeout, allowance.left))
        except psycopg.OperationalError:
            if allowance.left - (time.monotonic() - began) > 0:
                raise  # failed on its own, within the time
            self.close()
            raise DeadlinePassed() from None
        finally:
            allowance.spend(time.monotonic() - began)


def connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> DeadlineConnection:
    """SQLAlchemy's ``do_connect`` hook: a :class:`DeadlineConnection`, connecting
    within what is left of the deadline (never under psycopg's 2 s floor)."""
    allowance = deadline.current()
    if allowance is None:
        return DeadlineConnection.connect(*cargs, **cparams)
    if allowance.left <= 0:
        raise DeadlinePassed()
    began = time.monotonic()
    try:
        timeout = max(CONNECT_FLOOR_S, int(allowance.left))  # whole seconds, rounded down
        return DeadlineConnection.connect(*cargs, **{**cparams, "connect_timeout": timeout})
    finally:
        allowance.spend(time.monotonic() - began)
