"""HTTP providers against a real HTTP server on 127.0.0.1 that the test starts:
the schema comes from upstream and goes through the whole engine; the attacks
(path, query and header injection, redirects, hosts and addresses not
allowed, slow, huge and non-JSON answers, error bodies, tokens) all fail
closed, and neither a token nor an upstream body reaches an answer or a log.

DNS is the one part that cannot exist here for a public-looking name: the
rebinding test gives the provider a resolver that maps a name to 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import proof

TOKEN = "tok-SeCrEt-4411"
SCHEMA = {"title": "Your orders", "fields": [
    {"name": "email", "type": "email", "lockKnown": True},
    {"name": "order", "type": "select", "options": [{"label": "A-1", "value": "A-1"}]}]}


class Upstream(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        self.seen: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                   "body": body})
                route = urlsplit(self.path).path
                if route.startswith("/slow"):
                    time.sleep(1.5)
                if route.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.2:1/elsewhere")
                    self.end_headers()
                    return
                if route.startswith("/error"):
                    payload = json.dumps({"detail": f"db down, token {TOKEN}"}).encode()
                    self.send_response(500)
                elif route.startswith("/huge"):
                    payload = json.dumps({"fields": [{"name": "x", "help": "h" * 300_000}]}).encode()
                    self.send_response(200)
                elif route.startswith("/text"):
                    payload = b"<html>not json</html>"
                    self.send_response(200)
                else:
                    payload = json.dumps(SCHEMA).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def upstream():
    server = Upstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def config(tmp_path, upstream, route="/users/{{userId}}/forms/orders", **http):
    base = f"http://127.0.0.1:{upstream.server_port}"
    forms = {"orders": {"title": "Orders", "allowHosts": http.pop("allow", ["127.0.0.1"]),
                        "http": {"url": base + route, "headers": {"Authorization": "Bearer {{userMetadata.authToken}}"},
                                 **http}}}
    path = tmp_path / "forms.json"
    path.write_text(json.dumps({"forms": forms}))
    return str(path)


def rewrite(path, old, new):
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(text.replace(old, new))
    return path


def signed_in(app, user_id="u1", **metadata):
    c = app.test_client()
    c.post("/api/identify", json={"userId": user_id, "email": "ann@example.com",
                                  "metadata": {"authToken": TOKEN, **metadata}})
    return c


def test_the_schema_comes_from_upstream_and_is_resolved_like_any_other(make_app, tmp_path, upstream):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream))
    c = signed_in(app)
    r = c.get("/api/forms/orders?status=open")
    assert r.status_code == 200
    fields = {f["name"]: f for f in r.json["fields"]}
    assert fields["email"]["value"] == "ann@example.com" and fields["email"]["disabled"] is True
    request = upstream.seen[-1]
    assert request["path"] == "/users/u1/forms/orders?status=open"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"  # the raw identity: tokens are for this
    assert TOKEN not in r.get_data(as_text=True)
    assert c.get("/forms/orders").status_code == 200


def test_post_sends_args_as_json(make_app, tmp_path, upstream):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream, method="POST"))
    assert signed_in(app).get("/api/forms/orders?orderId=A-1").status_code == 200
    assert json.loads(upstream.seen[-1]["body"]) == {"orderId": "A-1"} and upstream.seen[-1]["method"] == "POST"


@pytest.mark.parametrize(("user_id", "raw_path"), [
    ("a?c=1#x", "/users/a%3Fc%3D1%23x/forms/orders"),
    ("%2e%2e", "/users/%252e%252e/forms/orders"),
    ("%2F", "/users/%252F/forms/orders"),  # decoded once by a server: the text %2F, no separator
    ("...", "/users/.../forms/orders"),  # not a dot segment
    (".profile", "/users/.profile/forms/orders"),
])
def test_user_ids_cannot_change_the_path_or_query(make_app, tmp_path, upstream, user_id, raw_path):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream))
    assert signed_in(app, user_id).get("/api/forms/orders").status_code == 200
    assert upstream.seen[-1]["path"] == raw_path


@pytest.mark.parametrize("company", ["..", ".", "", None, "a/../..", "../x", "acme/admin", "a\\..\\b", "../admin"])
def test_a_value_that_would_be_a_dot_or_empty_path_segment_is_refused(make_app, tmp_path, upstream, caplog, company):
    # /companies/../forms would be served as /users/u1/forms by a server that normalises dot segments,
    # /companies//forms as /companies/forms by one that merges slashes, and a%2F..%2F.. as /users/u1/forms
    # by one that decodes %2F first (nginx's proxy_pass with a URI): the request is not made.
    route = "/users/{{userId}}/companies/{{userMetadata.company}}/forms"
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream, route=route))
    c = signed_in(app, **({} if company is None else {"company": company}))
    with caplog.at_level(logging.DEBUG):
        r = c.get("/api/forms/orders")
    assert r.status_code == 502 and r.json == {"error": {
        "code": "provider_unavailable", "message": "The form provider 'orders' is unavailable."}}
    assert upstream.seen == [] and TOKEN not in caplog.text and "/companies/" not in caplog.text


@pytest.mark.parametrize(("route", "company", "sent"), [
    ("/c/x{{userMetadata.company}}/forms", "..", "/c/x../forms"),  # a part of a segment, not the whole
    ("/c/{{userMetadata.company}}.json", ".", "/c/..json"),
    ("/c/forms?company={{userMetadata.company}}", "..", "/c/forms?company=.."),  # a query value is no segment
    ("/c/forms?company={{userMetadata.company}}", "", "/c/forms?company="),
])
def test_dots_and_empty_values_elsewhere_are_sent(make_app, tmp_path, upstream, route, company, sent):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream, route=route))
    assert signed_in(app, company=company).get("/api/forms/orders").status_code == 200
    assert upstream.seen[-1]["path"] == sent


def test_metadata_cannot_inject_query_parameters(make_app, tmp_path, upstream):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream, route="/f?team={{userMetadata.team}}"))
    assert signed_in(app, team="red&admin=1").get("/api/forms/orders").status_code == 200
    assert upstream.seen[-1]["path"] == "/f?team=red%26admin%3D1"


def test_a_header_value_with_a_line_break_is_refused(make_app, tmp_path, upstream, caplog):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream))
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", "metadata": {"authToken": "x\r\nX-Evil: 1"}})
    with caplog.at_level(logging.DEBUG):
        r = c.get("/api/forms/orders")
    assert r.status_code == 502 and r.json["error"]["code"] == "provider_unavailable"
    assert "orders" in r.json["error"]["message"] and upstream.seen == []
    assert "X-Evil" not in caplog.text


@pytest.mark.parametrize(("route", "status", "code"), [
    ("/redirect", 502, "provider_unavailable"),
    ("/error", 502, "provider_unavailable"),
    ("/huge", 502, "provider_unavailable"),
    ("/text", 502, "provider_unavailable"),
    ("/slow", 504, "provider_timeout"),
])
def test_bad_answers_fail_closed_without_echo(make_app, tmp_path, upstream, caplog, route, status, code):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream, route=route, timeout=0.5))
    c = signed_in(app)
    with caplog.at_level(logging.DEBUG):
        started = time.perf_counter()
        r = c.get("/api/forms/orders")
        took = time.perf_counter() - started
    assert r.status_code == status and r.json["error"]["code"] == code, r.get_data(as_text=True)
    text = r.get_data(as_text=True)
    for leak in (TOKEN, "db down", "/users/", "not json"):
        assert leak not in text and leak not in caplog.text
    assert took < 1.4
    if route == "/redirect":
        assert len(upstream.seen) == 1  # the redirect target was never contacted


class Trickle:
    """A raw upstream that answers 200 one line (or body byte) every 0.5 s: each
    read is quick, only the whole is slow."""

    def __init__(self, phase: str) -> None:
        self.phase, self.stop = phase, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        body = json.dumps(SCHEMA).encode()
        head = [b"HTTP/1.1 200 OK\r\n", *(b"X-Slow-%d: 1\r\n" % n for n in range(12)),
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)]
        if self.phase == "body":
            head = [b"".join(head[:1] + head[-1:])]
        pieces = head + [body[i:i + 1] for i in range(len(body))]
        with conn:
            try:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                for n, piece in enumerate(pieces):
                    if self.stop.is_set():
                        return
                    slow = n < len(head) if self.phase == "headers" else n >= len(head)
                    if n and slow:
                        time.sleep(0.5)
                    conn.sendall(piece)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_the_timeout_is_one_deadline_over_headers_and_body(make_app, tmp_path, phase):
    trickle = Trickle(phase)
    try:
        forms = {"orders": {"title": "Orders", "allowHosts": ["127.0.0.1"],
                            "http": {"url": f"http://127.0.0.1:{trickle.port}/f", "timeout": 1.0}}}
        (tmp_path / "forms.json").write_text(json.dumps({"forms": forms}))
        app = make_app(PREFILL_CONFIG=str(tmp_path / "forms.json"))
        c = signed_in(app)
        started = time.perf_counter()
        r = c.get("/api/forms/orders")
        took = time.perf_counter() - started
    finally:
        trickle.close()
    assert r.status_code == 504 and r.json == {"error": {
        "code": "provider_timeout", "message": "The form provider 'orders' did not answer in time."}}
    assert 0.9 < took < 1.5, took


def test_hosts_and_addresses_not_allowed_are_never_contacted(make_app, tmp_path, upstream):
    # The URL's host comes from metadata: only allowHosts may be reached.
    app = make_app(PREFILL_CONFIG=rewrite(config(tmp_path, upstream, route="/f", allow=["api.example.test"]),
                                          "http://127.0.0.1", "http://{{userMetadata.host}}"))
    for host in ("127.0.0.1", "localhost", "169.254.169.254", "api.example.test.evil.test"):
        c = signed_in(app, host=host)
        assert c.get("/api/forms/orders").status_code == 502
    assert upstream.seen == []


def test_an_allowed_name_that_resolves_to_loopback_is_refused(make_app, tmp_path, upstream):
    path = rewrite(config(tmp_path, upstream, route="/f", allow=["internal.example.test"]),
                   "http://127.0.0.1", "http://internal.example.test")
    app = make_app(PREFILL_CONFIG=path)
    app.extensions["prefill"].registry.get("orders").fn.resolver = lambda host, port: ["127.0.0.1"]
    assert signed_in(app).get("/api/forms/orders").status_code == 502
    assert upstream.seen == []


def test_answers_are_cached_by_the_substituted_request(make_app, tmp_path, upstream):
    app = make_app(PREFILL_CONFIG=config(tmp_path, upstream, cacheTtl=30))
    ann, bob = signed_in(app, "ann"), signed_in(app, "bob")
    for _ in range(3):
        assert ann.get("/api/forms/orders").status_code == 200
    assert bob.get("/api/forms/orders").status_code == 200
    assert [s["path"] for s in upstream.seen] == ["/users/ann/forms/orders", "/users/bob/forms/orders"]


def test_requires_on_an_http_form(make_app, tmp_path, upstream):
    path = tmp_path / "forms.json"
    forms = json.loads(Path(config(tmp_path, upstream)).read_text())
    forms["forms"]["orders"]["requires"] = "verified"
    path.write_text(json.dumps(forms))
    app = make_app(PREFILL_CONFIG=str(path), IDENTITY_SECRET="test-identity-secret-0123456789abcdef0123")
    assert app.test_client().get("/api/forms/orders").status_code == 401
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", **proof("u1")})
    assert c.get("/api/forms/orders").status_code == 200 and upstream.seen


def test_the_guides_http_example_loads(make_app, tmp_path):
    import re

    from .test_crash import ROOT

    guide = (ROOT / "docs" / "providers.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", guide, re.S) if "http:" in b)
    path = tmp_path / "http.yaml"
    path.write_text(block)
    app = make_app(PREFILL_CONFIG=str(path))
    listing = app.test_cli_runner().invoke(args=["prefill", "forms"]).output
    assert "my_orders" in listing and "HTTP GET https://api.example.com/users/{{userId}}/forms/orders" in listing
    assert app.test_client().get("/api/forms/my_orders").status_code == 401  # requires: verified
