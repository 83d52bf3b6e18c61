"""Logs: one JSON object per line with a request id, and never a planted
secret, whatever an attacker sends and whatever breaks."""

from __future__ import annotations

import io
import json
import logging

import pytest

from web.plumbing.logs import make_handler

from .conftest import SECRET, proof

PLANTED = {
    "authToken": "planted-auth-7f3a91",
    "password": "planted-pass-55d0c2",
    "apiKey": "planted-key-0b8e44",
    "nested": {"refresh_token": "planted-refresh-9c1d", "privateNote": "planted-private-2e6b"},
}
SECRETS = ["planted-auth-7f3a91", "planted-pass-55d0c2", "planted-key-0b8e44", "planted-refresh-9c1d",
           "planted-private-2e6b"]
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = make_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = logging.getLogger("prefill").level
    logging.getLogger("prefill").setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    logging.getLogger("prefill").setLevel(level)


def crash_with_token():
    from flask import g

    from web.identity.current import current_identity

    g.get("x")
    raise RuntimeError(f"unexpected: token was {current_identity().metadata.get('authToken')}")


def test_no_log_line_carries_a_planted_secret(make_app, captured):
    app = make_app(LOG_FORMAT="json", IDENTITY_SECRET=SECRET, ADMIN_API_KEY="admin-key", MAX_BODY_BYTES=4096)
    app.add_url_rule("/_crash", "crash", crash_with_token)
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", "metadata": PLANTED, **proof("u1")})
    c.post("/api/session/metadata", json={"metadata": PLANTED})
    for form in ("support_ticket", "leaky", "broken", "quoting", "secret_copies", "bad_schema", "nope"):
        c.get(f"/api/forms/{form}")
        c.get(f"/forms/{form}")
    attacks = [
        ("/api/identify", {"userId": "u1", "metadata": PLANTED, "userHash": "planted-auth-7f3a91"}),
        ("/api/identify", {"userId": "u1", "identityToken": "planted-auth-7f3a91.x.y"}),
        ("/api/identify", {"userId": "u1\n", "metadata": PLANTED}),
        ("/api/identify", {"userId": "u1", "metadata": {**PLANTED, "big": "x" * 20000}}),
        ("/api/update", {"user": {"userId": "u1", "metadata": PLANTED, **proof("u1")},
                         "session": {"metadata": {**PLANTED, "big": "x" * 17000}}}),
        ("/api/forms/support_ticket/submissions", {"values": {**TICKET, "authToken": "planted-auth-7f3a91"}}),
        ("/api/forms/all_types/submissions", {"values": {"url": "http://[planted-pass-55d0c2"}}),
        ("/api/session", {"visitorId": "v_1700000000000_plantedauth7f3a91"}),
    ]
    for path, body in attacks:
        c.post(path, json=body)
    c.post("/api/identify", data='{"userId": "\\ud800", "m": "planted-key-0b8e44"}', content_type="application/json")
    c.post("/api/identify", data=json.dumps({"userId": "u1", "metadata": PLANTED}), content_type="text/plain")
    c.get("/api/submissions", query_string={"cursor": "planted-pass-55d0c2"})
    c.get("/api/admin/submissions", headers={"Authorization": "Bearer planted-key-0b8e44"})
    c.post("/api/identify", json={"userId": "u1", "metadata": PLANTED, **proof("u1")})  # /api/session made a new one
    r = c.get("/_crash")
    assert r.status_code == 500
    lines = captured.getvalue().splitlines()
    assert len(lines) >= 35  # an access line per request, plus warnings and errors
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message", "request_id"} <= set(record)
        for secret in SECRETS:
            assert secret not in line, line[:300]
    assert any("unexpected: token was [redacted]" in json.loads(x).get("message", "") for x in lines)
    access = [json.loads(x) for x in lines if json.loads(x)["logger"] == "prefill.access"]
    assert access and all(a["request_id"] and a["path"] and a["status"] for a in access)


def test_request_ids_are_sent_back_and_kept_when_sane(client):
    r = client.get("/healthz")
    assert len(r.headers["X-Request-Id"]) == 32
    assert client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"}).headers["X-Request-Id"] == "lb-1234.abc"
    hostile = client.get("/healthz", headers={"X-Request-Id": "x\" injected=1 " + "a" * 100})
    assert hostile.headers["X-Request-Id"] != "x" and len(hostile.headers["X-Request-Id"]) == 32
