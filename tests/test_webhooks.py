"""Webhooks: outbox written with the submission, signed, retried, delivered once.

The receiver is a real HTTP server on 127.0.0.1 (the integrator's endpoint is
the one outside party; here it is played by a server we start, not a mock).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import Signer, verify
from webhooks.worker import Worker

from .test_crash import ROOT

SECRET = "whsec-test"  # a plain secret (no ``whsec_``): its UTF-8 bytes are the key
WHSEC = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode()  # the Standard Webhooks form
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
    return make_app(**{"WEBHOOK_URL": url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_RETRY_BASE_S": 0.01,
                       "ADMIN_API_KEY": "admin-key", **extra})


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
        assert last["headers"]["X-Prefill-Signature"] == legacy(SECRET, last["body"])
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


def legacy(secret: str, body: bytes) -> str:
    """``X-Prefill-Signature`` as receivers have always checked it, written out here
    so that a change to Prefill's own function cannot move it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def library(secret: str) -> Webhook:
    """The receiver's side, with the PyPI package: a plain secret's UTF-8 bytes are the key."""
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


def deliver(make_app, secret: str, script: list[int] | None = None, clock: Any = None) -> list[dict[str, Any]]:
    """One submission delivered to a real local receiver; every attempt it saw."""
    receiver = Receiver(script=script)
    try:
        app = hook_app(make_app, receiver.url, WEBHOOK_SECRET=secret)
        app.test_client().post("/api/forms/support_ticket/submissions", json={"values": TICKET})
        worker = Worker.from_app(app)
        if clock is not None:
            worker.clock = clock
        drain(worker)
        return receiver.requests
    finally:
        receiver.close()


@pytest.mark.parametrize("secret", [WHSEC, SECRET])
def test_each_attempt_verifies_with_the_standardwebhooks_library(make_app, secret):
    now = time.time()
    stamps = iter([now - 90, now])  # the first attempt was sent 90 s ago and failed
    attempts = deliver(make_app, secret, script=[503], clock=lambda: next(stamps))
    assert len(attempts) == 2
    for attempt, stamp in zip(attempts, (now - 90, now)):
        headers = attempt["headers"]
        assert library(secret).verify(attempt["body"], headers) == json.loads(attempt["body"])
        assert headers["Webhook-Timestamp"] == str(int(stamp))  # re-signed per attempt
        assert headers["Webhook-Signature"].startswith("v1,")
        assert headers["X-Prefill-Signature"] == legacy(secret, attempt["body"])  # unchanged for now
    ids = {a["headers"]["Webhook-Id"] for a in attempts} | {a["headers"]["X-Prefill-Delivery"] for a in attempts}
    assert len(ids) == 1 and ids.pop().startswith("dlv_")  # one id per delivery, across retries


def test_the_library_rejects_replays_and_tampering(make_app):
    [old] = deliver(make_app, WHSEC, clock=lambda: time.time() - 6 * 60)
    with pytest.raises(WebhookVerificationError, match="too old"):  # a delivery replayed 6 min later
        library(WHSEC).verify(old["body"], old["headers"])

    [fresh] = deliver(make_app, WHSEC)
    body, headers = fresh["body"], fresh["headers"]
    library(WHSEC).verify(body, headers)
    stamp = int(headers["Webhook-Timestamp"])
    for tampered_body, tampered_headers in [
        (body.replace(b"It broke", b"It works"), headers),
        (body, {**headers, "Webhook-Id": "dlv_" + "0" * 24}),
        (body, {**headers, "Webhook-Timestamp": str(stamp + 1)}),
        (old["body"], {**old["headers"], "Webhook-Timestamp": str(stamp)}),  # a replay passed off as new
        (body, {**headers, "Webhook-Signature": "v1," + base64.b64encode(b"\0" * 32).decode()}),
    ]:
        with pytest.raises(WebhookVerificationError):
            library(WHSEC).verify(tampered_body, tampered_headers)
    with pytest.raises(WebhookVerificationError):  # the right key matters
        library("whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()).verify(body, headers)


@pytest.mark.parametrize("secret", [
    WHSEC, WHSEC.rstrip("="), "whsec_" + base64.b64encode(bytes(24)).decode(), "plain secret", "clé-ünïcode",
])
def test_prefill_signs_as_the_library_does(secret):
    signer, body, stamp = Signer(secret), '{"values":{"name":"Zoë"}}'.encode(), int(time.time())
    headers = signer.headers("dlv_1", body, stamp)
    expected = library(secret).sign("dlv_1", datetime.fromtimestamp(stamp, UTC), body)
    assert headers["webhook-signature"] == expected
    assert verify(signer.key, body, headers)  # the demo receiver's check
    assert not verify(signer.key, body, headers, now=stamp + 301)
    assert not verify(signer.key, body, headers, now=stamp - 301)
    assert not verify(signer.key, body + b" ", headers)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_YWJjZA-_", "whsec_", ""])
def test_a_malformed_secret_stops_the_worker_at_start(secret):
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Worker(outbox=None, url="x", secret=secret)  # type: ignore[arg-type]


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


MAKE_RUN_SECRET = re.search(r"WEBHOOK_SECRET:-([^}]+)}", (ROOT / "Makefile").read_text()).group(1)


@pytest.mark.parametrize("secret", [MAKE_RUN_SECRET, "demo-hook-secret"])
def test_demo_worker_delivers_to_the_demo_receiver(sqlite_url, secret):
    """What `make run` shows: a real server, the worker thread, the demo's own receiver."""
    from werkzeug.serving import make_server

    from app import create_app
    from tests.conftest import wipe

    wipe(sqlite_url)
    holder: dict[str, Any] = {}
    srv = make_server("127.0.0.1", 0, lambda env, sr: holder["app"](env, sr), threaded=True)
    url = f"http://127.0.0.1:{srv.server_port}"
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False, "PREFILL_DEMO": True,
                      "WEBHOOK_URL": f"{url}/demo/webhook", "WEBHOOK_SECRET": secret})
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
        body = json.dumps({"submission": {"id": "sub_r", "form": "support_ticket", "userId": None}}).encode()
        signer = Signer(secret)
        replayed = c.post("/demo/webhook", data=body, headers=signer.headers("dlv_r", body, int(time.time()) - 360))
        legacy_only = c.post("/demo/webhook", data=body, headers={"X-Prefill-Signature": legacy(secret, body)})
        fresh = c.post("/demo/webhook", data=body, headers=signer.headers("dlv_r", body, int(time.time())))
        assert (replayed.status_code, legacy_only.status_code, fresh.status_code) == (401, 401, 204)
    finally:
        stop.set()
        srv.shutdown()
        app.extensions["prefill"].db.dispose()
