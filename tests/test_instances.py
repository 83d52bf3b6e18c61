"""Two app instances (gunicorn, two workers each) on two ports, one PostgreSQL
database and one Redis, with the webhook worker running beside them: a
session made on one is used on the other, idempotency and rate limits hold
across them, and every submission is delivered exactly once."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import redis

from web.identity.verify import sign_identity_token

from .conftest import wipe
from .test_crash import ROOT, free_port, start_server

SECRET = "instances-identity-secret-0123456789abcdef"
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []  # (delivery id, submission id)
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.deliveries.append((self.headers["X-Prefill-Delivery"], body["submission"]["id"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={**({"Content-Type": "application/json"} if data else {}),
                                                    **(headers or {})})
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, (json.loads(payload) if payload and r.getheader("Content-Type", "").startswith(
        "application/json") else None)


def test_two_instances_share_sessions_keys_limits_and_the_outbox(postgres_url):
    wipe(postgres_url)
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    prefix = f"prefill-inst-{uuid.uuid4().hex[:8]}"
    env = {"SECRET_KEY": "shared-instance-secret", "IDENTITY_SECRET": SECRET, "RATELIMIT_ENABLED": "1",
           "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_KEY_PREFIX": prefix,
           "RATELIMIT_IDENTITY": "12/minute", "RATELIMIT_IDENTITY_ADDRESS": "12/minute",
           "RATELIMIT_SUBMIT": "1000/minute",
           "WEBHOOK_URL": f"http://127.0.0.1:{receiver.server_port}/hook", "WEBHOOK_SECRET": "hook-secret"}
    a_port, b_port = free_port(), free_port()
    a = start_server(postgres_url, a_port, env)
    b = start_server(postgres_url, b_port, env)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "prefill", "worker"], cwd=ROOT,
                              env={**os.environ, "DATABASE_URL": postgres_url, **env}, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # A session made on A works on B; a visitorId A issued is accepted by B.
        status, session = call(a_port, "POST", "/api/session", {})
        assert status == 201
        auth = {"Authorization": f"Bearer {session['sessionToken']}"}
        token = sign_identity_token(SECRET, "ann", {"plan": "enterprise"})
        status, me = call(b_port, "POST", "/api/identify", {"userId": "ann", "identityToken": token}, auth)
        assert status == 200 and me["verified"] is True
        assert call(a_port, "GET", "/api/me", headers=auth)[1]["userId"] == "ann"
        status, again = call(b_port, "POST", "/api/session", {"visitorId": session["visitorId"]})
        assert status == 201 and again["visitorId"] == session["visitorId"] and again["warnings"] == []

        # Idempotency holds across instances, also when both race with one key.
        key = {**auth, "Idempotency-Key": "k-shared"}
        s1, first = call(a_port, "POST", "/api/forms/support_ticket/submissions", {"values": TICKET}, key)
        s2, replay = call(b_port, "POST", "/api/forms/support_ticket/submissions", {"values": TICKET}, key)
        assert s1 == s2 == 201 and replay["id"] == first["id"]
        raced: list[str] = []
        race_key = {**auth, "Idempotency-Key": "k-race"}

        def post(port):
            raced.append(call(port, "POST", "/api/forms/support_ticket/submissions", {"values": TICKET},
                              race_key)[1]["id"])

        threads = [threading.Thread(target=post, args=(p,)) for p in (a_port, b_port) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(raced)) == 1
        status, history = call(a_port, "GET", "/api/submissions", headers=auth)
        assert len(history["items"]) == 2

        # One rate limit across both instances (shared in Redis): the address's ceiling, 12 identity
        # calls a minute from this address (a call without a session counts only there); 3 were made above.
        statuses = [call((a_port, b_port)[i % 2], "POST", "/api/session", {})[0] for i in range(12)]
        assert statuses.count(201) == 9 and statuses[9:] == [429, 429, 429]

        # The worker beside them delivers each submission exactly once.
        deadline = time.time() + 20
        while time.time() < deadline and len(receiver.deliveries) < 2:
            time.sleep(0.2)
        time.sleep(1.0)
        assert sorted(s for _, s in receiver.deliveries) == sorted({first["id"], raced[0]})
        assert len({d for d, _ in receiver.deliveries}) == 2
    finally:
        for proc in (a, b, worker):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (a, b, worker):
            proc.wait(timeout=20)
        receiver.shutdown()
        client = redis.Redis.from_url("redis://127.0.0.1:6379")
        for k in client.scan_iter(f"*{prefix}*"):
            client.delete(k)
