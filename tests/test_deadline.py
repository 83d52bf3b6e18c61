"""A database that accepts connections and never answers (hardening round 3, defect 2).

Per-call timeouts added up: identify hung on a held pooled connection, and the
HTML page paid libpq's 2 s connect floor twice (once more for its error page).
Every request now has one deadline over all of its database calls
(``DB_DEADLINE_S``, store.deadline), so each endpoint is a 503
``store_unavailable`` within about 2 s, whether its connections were open
before the database stopped answering or must be made after.
"""

from __future__ import annotations

import contextvars
import select
import threading
import time
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from store import deadline

from .tcp_proxy import TCPProxy

TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


class HoldingProxy(TCPProxy):
    """``hold()``: the open connections stay open and go silent, and new ones are
    accepted and never answered (a hung server, whose kernel still acknowledges
    everything). ``stall()`` instead resets the open ones first."""

    def hold(self) -> None:
        self.mode = "stall"  # the base class holds new connections in this mode

    def _pump(self, a: Any, b: Any) -> None:
        try:
            while True:
                if self.mode == "stall":  # held: nothing moves until up() resets it
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.05)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except (OSError, ValueError):  # ValueError: a socket _reset_all closed meanwhile
            return


@pytest.fixture
def proxied(make_app, postgres_url):
    url = make_url(postgres_url)
    proxy = HoldingProxy(url.port or 5432)
    app = make_app(DATABASE_URL=url.set(port=proxy.port).render_as_string(hide_password=False))
    yield app, proxy
    proxy.close()


CALLS = {
    "identify": lambda c: c.post("/api/identify", json={"userId": "u2"}),
    "html form": lambda c: c.get("/forms/support_ticket"),
    "me": lambda c: c.get("/api/me"),
    "updateUser": lambda c: c.post("/api/user", json={"userId": "u1", "name": "Ann"}),
    "session metadata": lambda c: c.post("/api/session/metadata", json={"metadata": {"plan": "pro"}}),
    "json form": lambda c: c.get("/api/forms/support_ticket"),
    "submit": lambda c: c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}),
    "keyed submit": lambda c: c.post("/api/forms/support_ticket/submissions", json={"values": TICKET},
                                     headers={"Idempotency-Key": f"k-{time.time_ns()}"}),
    "history": lambda c: c.get("/api/submissions"),
    "reset": lambda c: c.post("/api/reset"),
}


def timed(call: Any, limit: float = 15.0) -> tuple[Any, float]:
    """The call in a thread, so a hang fails the test instead of stopping it."""
    out: list[Any] = []
    start = time.perf_counter()
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(limit)
    took = time.perf_counter() - start
    assert out, f"no answer in {limit:.0f} s"
    return out[0], took


def warm(c: Any) -> None:
    """Open a connection in every pool: the session write, the identity read,
    the autocommit pool of keyed submits."""
    assert c.post("/api/identify", json={"userId": "u1", "email": "u1@example.com"}).status_code == 200
    assert c.get("/api/me").status_code == 200
    assert c.post("/api/forms/support_ticket/submissions", json={"values": TICKET},
                  headers={"Idempotency-Key": "warm"}).status_code == 201


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("outage", ["hold", "stall"])
@pytest.mark.parametrize("name", list(CALLS))
def test_every_endpoint_is_a_503_within_the_deadline(proxied, outage, name):
    app, proxy = proxied
    c = app.test_client()
    warm(c)
    getattr(proxy, outage)()
    r, took = timed(lambda: CALLS[name](c))
    assert r.status_code == 503, (name, r.status_code, r.get_data(as_text=True)[:300])
    if r.mimetype == "application/json":
        assert r.json["error"]["code"] == "store_unavailable"
    assert r.headers["Retry-After"]
    print(f"\n{outage} {name}: 503 in {took:.2f} s")
    assert took < 3.0, (name, took)
    proxy.up()  # the connections cut off were closed, not pooled: the next requests work
    give_up = time.time() + 10
    while time.time() < give_up and c.get("/readyz").status_code != 200:
        time.sleep(0.1)
    assert CALLS[name](c).status_code in (200, 201), name


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_deadline_bounds_a_held_statement_and_what_follows(proxied):
    """On a pooled connection gone silent a statement ends when the allowance
    does (no connect floor there), and every later call fails at once."""
    app, proxy = proxied
    engine = app.extensions["prefill"].db
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    proxy.hold()

    def select_one() -> Exception | None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            return exc
        return None

    with deadline.within(0.5) as allowance:
        here = contextvars.copy_context()  # the thread timed() runs it in sees this allowance
        failed, took = timed(lambda: here.run(select_one))
        assert "deadline" in str(failed) and 0.4 < took < 1.5
        assert allowance is not None and allowance.left <= 0
        failed, took = timed(lambda: here.run(select_one))
        assert "deadline" in str(failed) and took < 0.2


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_only_time_spent_on_the_database_counts(app):
    """A request that waited on something else (a slow provider) still has its
    database time; outside a request there is no deadline at all."""
    engine = app.extensions["prefill"].db
    with deadline.within(0.3) as allowance:
        time.sleep(0.5)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert allowance is not None and 0 < allowance.left < 0.3
    assert deadline.current() is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_sleep(0.4), 1")).one()[1] == 1


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_each_request_starts_with_a_fresh_allowance(make_app):
    app = make_app(DB_DEADLINE_S=0.5)
    seen: list[Any] = []

    @app.get("/probe")
    def probe() -> str:
        seen.append(deadline.current())
        with app.extensions["prefill"].db.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.3)"))
        return "ok"

    c = app.test_client()
    for _ in range(3):  # 0.9 s of database time in all, 0.3 s in each request
        assert c.get("/probe").status_code == 200
    assert len({id(a) for a in seen}) == 3 and all(a is not None for a in seen)
    assert deadline.current() is None  # cleared when the request ended
    assert make_app(DB_DEADLINE_S=0).test_client().get("/api/me").status_code == 200
