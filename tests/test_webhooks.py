"""Webhooks: outbox written with the submission, signed, retried, delivered once.

The receiver is a real HTTP server on 127.0.0.1 (the integrator's endpoint is
the one outside party; here it is played by a server we start, not a mock).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import text

from webhooks.signing import signature, verify
from webhooks.worker import Worker

SECRET = "whsec-test"
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


class Receiver:
    """Answers from a script of statuses (then 200), recording every request."""

    def __init__(self, script: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.script = list(script or [])
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    status = receiver.script.pop(0) if receiver.script else 200
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def hook_app(make_app, url, **extra):
    return make_app(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, WEBHOOK_RETRY_BASE_S=0.01, ADMIN_API_KEY="admin-key",
                    **extra)


def drain(worker: Worker, until: float = 10.0) -> None:
    deadline = time.time() + until
    while time.time() < deadline:
        if not worker.run_once():
            with worker.outbox.engine.connect() as conn:
                pending = conn.execute(
                    text("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")).scalar()
            if not pending:
                return
            time.sleep(0.02)
    raise AssertionError("deliveries still pending")


def deliveries(app) -> list[Any]:
    with app.extensions["prefill"].db.connect() as conn:
        return conn.execute(text("SELECT status, attempts, last_error, delivered_at FROM webhook_deliveries")).all()


def test_start_up_refuses_url_without_secret(make_app):
    with pytest.raises(RuntimeError, match="WEBHOOK_SECRET"):
        make_app(WEBHOOK_URL="http://127.0.0.1:1/x")


def test_outbox_row_is_written_with_the_submission(make_app, receiver):
    app = hook_app(make_app, receiver.url)
    c = app.test_client()
    c.post("/api/forms/support_ticket/submissions", json={"values": TICKET})
    c.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, "priority": "nope"}})  # 422
    assert [d.status for d in deliveries(app)] == ["pending"]


def test_retries_then_delivers_once_signed(make_app):
    receiver = Receiver(script=[500, 503])
    try:
        app = hook_app(make_app, receiver.url)
        c = app.test_client()
        c.post("/api/identify", json={"userId": "u1", "email": "me@example.com"})
        sid = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}).json["id"]
        drain(Worker.from_app(app))
        assert len(receiver.requests) == 3
        ids = {r["headers"]["X-Prefill-Delivery"] for r in receiver.requests}
        assert len(ids) == 1
        last = receiver.requests[-1]
        assert verify(SECRET, last["body"], last["headers"]["X-Prefill-Signature"])
        assert last["headers"]["X-Prefill-Signature"] == signature(SECRET, last["body"])
        payload = json.loads(last["body"])
        assert payload["event"] == "submission.created"
        sub = payload["submission"]
        assert set(sub) == {"id", "form", "values", "userId", "visitorId", "verified", "prefilled", "changed",
                            "sources", "createdAt"}
        assert (sub["id"], sub["userId"], sub["verified"], sub["prefilled"]) == (sid, "u1", False, ["email"])
        [row] = deliveries(app)
        assert (row.status, row.attempts, row.delivered_at is not None) == ("delivered", 3, True)
        listing = c.get("/api/admin/webhooks/deliveries?status=delivered",
                        headers={"Authorization": "Bearer admin-key"}).json["items"]
        assert listing[0]["attempts"] == 3 and listing[0]["deliveredAt"]
    finally:
        receiver.close()


@pytest.mark.parametrize("status,attempts", [(400, 1), (404, 1), (301, 1), (410, 1)])
def test_permanent_failures(make_app, status, attempts):
    receiver = Receiver(script=[status] * 5)
    try:
        app = hook_app(make_app, receiver.url)
        app.test_client().post("/api/forms/support_ticket/submissions", json={"values": TICKET})
        drain(Worker.from_app(app))
        [row] = deliveries(app)
        assert (row.status, row.attempts) == ("failed", attempts)
        assert str(status) in row.last_error
        assert all(r["path"] == "/hook" for r in receiver.requests)  # redirects not followed
    finally:
        receiver.close()


@pytest.mark.parametrize("status", [408, 429, 502])
def test_retryable_statuses_give_up_after_max_attempts(make_app, status):
    receiver = Receiver(script=[status] * 10)
    try:
        app = hook_app(make_app, receiver.url, WEBHOOK_MAX_ATTEMPTS=3)
        app.test_client().post("/api/forms/support_ticket/submissions", json={"values": TICKET})
        drain(Worker.from_app(app))
        [row] = deliveries(app)
        assert (row.status, row.attempts) == ("failed", 3) and "gave up after 3" in row.last_error
        assert len(receiver.requests) == 3
    finally:
        receiver.close()


def test_network_errors_and_timeouts_retry(make_app):
    receiver = Receiver(delay_s=1.0)
    try:
        app = hook_app(make_app, receiver.url, WEBHOOK_TIMEOUT_S=0.2, WEBHOOK_MAX_ATTEMPTS=2)
        app.test_client().post("/api/forms/support_ticket/submissions", json={"values": TICKET})
        drain(Worker.from_app(app))
        [row] = deliveries(app)
        assert (row.status, row.attempts) == ("failed", 2) and "network error" in row.last_error
    finally:
        receiver.close()
    dead = hook_app(make_app, "http://127.0.0.1:1/closed", WEBHOOK_MAX_ATTEMPTS=2)
    dead.test_client().post("/api/forms/support_ticket/submissions", json={"values": TICKET})
    drain(Worker.from_app(dead))
    assert deliveries(dead)[0].status == "failed"


def test_backoff_grows_exponentially_with_jitter():
    w = Worker(outbox=None, url="x", secret="s", retry_base_s=2.0)  # type: ignore[arg-type]
    for attempt, base in ((1, 2000), (2, 4000), (3, 8000)):
        samples = [w.backoff_ms(attempt) for _ in range(200)]
        assert base * 0.5 <= min(samples) and max(samples) <= base * 1.5
        assert len(set(samples)) > 10


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite runs a single worker
def test_concurrent_workers_deliver_each_item_once(make_app, receiver):
    app = hook_app(make_app, receiver.url)
    c = app.test_client()
    for i in range(40):
        c.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, "subject": f"s{i}"}})
    workers = [Worker.from_app(app) for _ in range(4)]
    for w in workers:
        w.batch = 3
    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r["headers"]["X-Prefill-Delivery"] for r in receiver.requests]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert {d.status for d in deliveries(app)} == {"delivered"}


def test_demo_worker_delivers_to_the_demo_receiver(sqlite_url):
    """What `make run` shows: a real server, the worker thread, the demo's own receiver."""
    from werkzeug.serving import make_server

    from app import create_app
    from tests.conftest import wipe

    wipe(sqlite_url)
    holder: dict[str, Any] = {}
    srv = make_server("127.0.0.1", 0, lambda env, sr: holder["app"](env, sr), threaded=True)
    url = f"http://127.0.0.1:{srv.server_port}"
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False, "PREFILL_DEMO": True,
                      "WEBHOOK_URL": f"{url}/demo/webhook", "WEBHOOK_SECRET": "demo-hook-secret"})
    holder["app"] = app
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    stop = threading.Event()
    threading.Thread(target=Worker.from_app(app).run_forever, args=(stop, 0.05), daemon=True).start()
    try:
        c = app.test_client()
        sid = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}).json["id"]
        deadline = time.time() + 10
        while sid not in c.get("/").get_data(as_text=True) and time.time() < deadline:
            time.sleep(0.05)
        home = c.get("/").get_data(as_text=True)
        assert sid in home and "<title>Prefill</title>" in home
        forged = c.post("/demo/webhook", data=b'{"submission": {}}', headers={"X-Prefill-Signature": "sha256=00"})
        assert forged.status_code == 401
    finally:
        stop.set()
        srv.shutdown()
        app.extensions["prefill"].db.dispose()
