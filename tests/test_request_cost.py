"""The per-request promise: one indexed read for the identity (on SQLite, a
version check when nothing changed since), no writes on reads."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, text


@pytest.fixture
def traced(make_app):
    """An app on SQLite whose every SQL statement is recorded (sqlite3's trace hook)."""
    app = make_app()
    statements: list[str] = []
    st = app.extensions["prefill"]
    for engine in {st.db, st.sessions.read_engine}:
        engine.dispose()
        event.listen(engine, "connect", lambda conn, _r: conn.set_trace_callback(statements.append))
    return app, statements


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", ["/api/forms/support_ticket", "/forms/support_ticket", "/api/me",
                                  "/forms/support_ticket?embed=1"])
def test_form_view_is_one_read_and_no_write(traced, path):
    app, statements = traced
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "a@b.co"})
    statements.clear()
    c.get(path)  # first view of this identity: its one indexed read
    reads = [s for s in statements if "token_hash" in s]
    assert len(reads) == 1 and reads[0].lstrip().upper().startswith("SELECT"), statements
    for _ in range(2):
        statements.clear()
        assert c.get(path).status_code == 200
        sql = [s for s in statements if s.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
        # SQLite: the session was read by this thread and nothing was committed since,
        # so the one statement is the version check that says so (store.threadreads).
        assert sql == ["PRAGMA data_version"], sql


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_anonymous_json_view_touches_no_table(traced):
    app, statements = traced
    statements.clear()
    assert app.test_client().get("/api/forms/support_ticket").status_code == 200
    assert statements == []


def test_last_seen_is_written_at_most_hourly(app):
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1"})
    db = app.extensions["prefill"].db

    def last_seen() -> int:
        with db.connect() as conn:
            return conn.execute(text("SELECT last_seen FROM sessions")).scalar()

    fresh = last_seen()
    c.get("/api/forms/support_ticket")
    assert last_seen() == fresh  # recently seen: the read stays a read
    stale = int(time.time() * 1000) - 2 * 3600 * 1000
    with db.begin() as conn:
        conn.execute(text("UPDATE sessions SET last_seen = :t"), {"t": stale})
    c.get("/api/forms/support_ticket")
    assert last_seen() > stale + 3600 * 1000
