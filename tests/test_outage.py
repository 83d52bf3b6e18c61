"""PostgreSQL unreachable mid-run: a 503 ``store_unavailable`` within about 2 s,
never a hang or a 500, and the app recovers by itself when it is back.

The database is taken away through a TCP proxy the test controls, so the shared
server keeps running for everything else.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import make_url

from .tcp_proxy import TCPProxy

TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


@pytest.fixture
def proxied(make_app, postgres_url):
    url = make_url(postgres_url)
    proxy = TCPProxy(url.port or 5432)
    app = make_app(DATABASE_URL=url.set(port=proxy.port).render_as_string(hide_password=False))
    yield app, proxy
    proxy.close()


def timed(call):
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


CALLS = [
    ("form view", lambda c: c.get("/api/forms/support_ticket")),
    ("html form", lambda c: c.get("/forms/support_ticket")),
    ("identify", lambda c: c.post("/api/identify", json={"userId": "u2"})),
    ("submit", lambda c: c.post("/api/forms/support_ticket/submissions", json={"values": TICKET})),
    # With a key, on PostgreSQL one statement on the autocommit pool (store.rawsql), retried once.
    ("keyed submit", lambda c: c.post("/api/forms/support_ticket/submissions", json={"values": TICKET},
                                      headers={"Idempotency-Key": f"k-{time.time_ns()}"})),
    ("history", lambda c: c.get("/api/submissions")),
]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("outage", ["down", "stall"])
def test_an_unreachable_database_is_a_quick_503_and_recovers(proxied, outage):
    app, proxy = proxied
    c = app.test_client()
    assert c.post("/api/identify", json={"userId": "u1", "email": "u1@example.com"}).status_code == 200
    assert c.get("/readyz").status_code == 200
    getattr(proxy, outage)()
    limit = 2.5 if outage == "down" else 5.0  # a stalled connect waits out libpq's 2 s connect_timeout
    took_max = 0.0
    for name, call in CALLS:
        r, took = timed(lambda call=call: call(c))
        assert r.status_code == 503, (name, r.status_code, r.get_data(as_text=True)[:200])
        if r.mimetype == "application/json":
            assert r.json["error"]["code"] == "store_unavailable"
        assert r.headers["Retry-After"]
        assert took < limit, (name, took)
        took_max = max(took_max, took)
    print(f"\noutage={outage}: slowest 503 took {took_max:.2f} s")
    assert c.get("/healthz").status_code == 200  # the process is up, just not ready
    assert timed(lambda: c.get("/readyz"))[0].status_code == 503
    proxy.up()
    deadline = time.time() + 10
    while time.time() < deadline and c.get("/readyz").status_code != 200:
        time.sleep(0.2)
    for name, call in CALLS:
        assert call(c).status_code in (200, 201), name
    assert c.get("/api/me").json["userId"] == "u2"


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_keyed_submit_on_a_dead_pooled_connection_is_stored_once(proxied):
    """A keyed submit is one statement on the autocommit pool: a pooled
    connection the server dropped is found dead, and the submit retried once on
    a fresh one (the key makes a retry safe). Nothing is lost or doubled."""
    from sqlalchemy import text

    from forms.identity import Identity
    from forms.validate import CleanSubmission

    app, proxy = proxied
    store = app.extensions["prefill"].submissions
    assert store.autocommit is not None
    clean = CleanSubmission(values=dict(TICKET), prefilled=[], changed=[], sources={})
    who = Identity(visitor_id="v_retry")
    for n in (1, 2):
        status, body, replayed, _ = store.create(form="support_ticket", args={}, clean=clean, identity=who,
                                              visitor_id="v_retry", idempotency_key=f"key-{n}", digest="d")
        assert (status, replayed) == (201, False)
        proxy.up()  # resets every open connection: the pooled one is dead now
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submissions WHERE visitor_id = 'v_retry'")).scalar() == 2
    # The same key again on a dead connection: replayed, not stored twice.
    again = store.create(form="support_ticket", args={}, clean=clean, identity=who, visitor_id="v_retry",
                         idempotency_key="key-2", digest="d")
    assert again[0] == 201 and again[2] is True and again[1]["id"] == body["id"]
