"""SQLite's WAL checkpoints run on a thread of each process, not in the
request whose commit fills the log (store.checkpoints)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

import pytest
from sqlalchemy import text

from store import checkpoints as ck
from store.db import make_engine

sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

TICKET = {"email": "a@b.co", "subject": "Help", "priority": "low", "message": "It broke"}


def submit(client, n):
    for i in range(n):
        r = client.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, "subject": f"S{i}"}},
                        headers={"Idempotency-Key": f"k{i}"})
        assert r.status_code == 201, r.json


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@sqlite
def test_request_connections_leave_checkpoints_to_the_thread(make_app):
    app = make_app()
    cps = app.extensions["prefill"].checkpoints
    assert cps is not None
    with app.extensions["prefill"].db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == ck.SAFETY_PAGES


@sqlite
def test_the_thread_copies_the_log_back_while_requests_go_on(make_app):
    app = make_app()
    cps = app.extensions["prefill"].checkpoints
    cps.every = 20
    submit(app.test_client(), 45)  # 45 submits return at least 45 connections: two checkpoints asked
    wait_for(lambda: cps.done >= 2)
    busy, frames, copied = cps.last
    assert busy == 0 and 0 <= copied <= frames
    with app.extensions["prefill"].db.connect() as conn:  # nothing was lost on the way
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar() == 45


@sqlite
def test_without_the_thread_no_request_checkpoints_below_the_safety_net(make_app):
    """SQLite's default would copy the log back in the request whose commit
    passes 1,000 pages; here the log keeps growing until the thread runs."""
    app = make_app()
    cps = app.extensions["prefill"].checkpoints
    cps.every = 10**9
    engine = app.extensions["prefill"].db
    engine.dispose()
    with engine.connect() as conn:  # a fresh log: from here on, every frame is new
        assert tuple(conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()) == (0, 0, 0)
    assert wal_frames(app) == 0
    client = app.test_client()
    pages = 0
    for i in range(1000):  # a submit writes a handful of pages: past SQLite's default threshold
        submit_one(client, i)
        if i % 50 == 49 and (pages := wal_frames(app)) > 1200:
            break
    assert pages > 1200  # no request copied it back and restarted the log (it would stay near 1,000)
    cps.every = 1
    cps.nudge()
    wait_for(lambda: cps.done >= 1)
    assert cps.last[0] == 0 and cps.last[2] >= 1200


def submit_one(client, i):
    r = client.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, "subject": f"S{i}"}},
                    headers={"Idempotency-Key": f"one{i}"})
    assert r.status_code == 201, r.json


def wal_frames(app) -> int:
    """Frames in the log, from its size (a header of 32 bytes, then page + 24 bytes each)."""
    path = app.extensions["prefill"].db.url.database + "-wal"
    return max(0, (os.path.getsize(path) - 32) // (4096 + 24))


@sqlite
def test_a_failing_checkpoint_is_logged_and_requests_go_on(make_app, caplog):
    app = make_app()
    cps = app.extensions["prefill"].checkpoints

    class Broken:
        def raw_connection(self):
            raise OSError("disk gone")

    cps.engine = Broken()
    cps.every = 5
    with caplog.at_level(logging.WARNING, logger="store.checkpoints"):
        client = app.test_client()
        for i in range(60):  # a checkpoint asked every 5 check-ins: several failures
            submit_one(client, i)
            if cps.failures >= 3:
                break
        assert cps.failures >= 3
        cps.close()
        assert cps.done == 0
        assert [r.getMessage() for r in caplog.records].count(
            f"WAL checkpoint failed; requests will checkpoint past {ck.SAFETY_PAGES} pages") == 1  # once, not each time
        cps._closed = False
        cps.engine = app.extensions["prefill"].db
        cps.nudge()
        wait_for(lambda: cps.done == 1)
    assert "WAL checkpoints work again" in [r.getMessage() for r in caplog.records]


@sqlite
def test_an_idle_thread_ends_and_the_next_write_starts_another(make_app, monkeypatch):
    monkeypatch.setattr(ck, "IDLE_S", 0.05)
    app = make_app()
    cps = app.extensions["prefill"].checkpoints
    cps.every = 5
    client = app.test_client()
    submit(client, 6)
    wait_for(lambda: cps.done >= 1)
    wait_for(lambda: cps._thread is None)  # idle: ended
    submit_one(client, 100)
    for i in range(101, 106):
        submit_one(client, i)
    wait_for(lambda: cps.done >= 2)


def _child(cps, queue):
    before = cps.done  # the parent's count, copied
    cps.nudge()
    deadline = time.monotonic() + 10
    while cps.done <= before and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.put(cps.done)


@sqlite
def test_a_forked_worker_starts_its_own_thread(make_app):
    """gunicorn forks its workers after the app is built: a thread started in
    the parent is not in the child, which must start its own."""
    app = make_app()
    cps = app.extensions["prefill"].checkpoints
    cps.nudge()
    wait_for(lambda: cps.done >= 1)
    parent_done = cps.done
    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()
    child = fork.Process(target=_child, args=(cps, queue))
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert queue.get(timeout=1) == parent_done + 1  # the child's copy counted one more: its own thread ran


def test_an_in_memory_database_gets_no_thread():
    assert ck.checkpoints(make_engine("sqlite://")) is None


def test_postgresql_gets_no_thread(postgres_url):
    pg = make_engine(postgres_url)
    try:
        assert ck.checkpoints(pg) is None
    finally:
        pg.dispose()
