"""Identity calls racing on one cookie session, against a real threaded server
(werkzeug), on SQLite and PostgreSQL: no 5xx, no write acknowledged and then
lost, and a token rotated away by a sign-in or sign-out never reads the
identity it was rotated away from."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from tests.conftest import SECRET, proof

TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}
THREADS, ROUNDS = 16, 3


@contextmanager
def serve(app: Any) -> Iterator[int]:
    """``app`` on a threaded werkzeug server (what ``make run`` uses), on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


class Browser:
    """One browser's cookie jar, shared by its tabs (threads): every answer's
    ``Set-Cookie`` replaces the session cookie, as a browser's would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.token: str | None = None
        self.rotations = 0
        self.lock = threading.Lock()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            headers["Cookie"] = f"prefill_session={self.token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = conn.getresponse()
        data = r.read()
        cookie = r.getheader("Set-Cookie") or ""
        conn.close()
        if cookie.startswith("prefill_session="):
            with self.lock:
                self.token = cookie.split(";", 1)[0].split("=", 1)[1]
                self.rotations += 1
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data.decode(errors="replace")


def race(n: int, work: Any) -> None:
    barrier = threading.Barrier(n)

    def go(i: int) -> None:
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def code(answer: Any) -> str | None:
    return answer["error"]["code"] if isinstance(answer, dict) and "error" in answer else None


def test_sixteen_tabs_on_one_signed_in_session_lose_nothing(make_app):
    """The issue's scenario: 16 tabs of one signed-in browser each update the
    session and the user, identify the same user again (with a valid proof)
    and submit, three rounds. Nothing fails, nothing acknowledged is lost,
    and the same user signing in again never rotates the token."""
    app = make_app(IDENTITY_SECRET=SECRET)
    with serve(app) as port:
        browser = Browser(port)
        status, _ = browser.call("POST", "/api/identify", {"userId": "ann", "email": "me@example.com", **proof("ann")})
        assert status == 200
        signed_in, browser.rotations = browser.token, 0
        answers: list[tuple[str, int, str | None]] = []
        acked_session: set[str] = set()
        acked_user: set[str] = set()
        lock = threading.Lock()

        def tab(i: int, round_: int) -> None:
            calls = [
                ("/api/session/metadata", {"metadata": {f"s{round_}_{i}": i}}, acked_session, f"s{round_}_{i}"),
                ("/api/user", {"userId": "ann", "metadata": {f"u{round_}_{i}": i}}, acked_user, f"u{round_}_{i}"),
                ("/api/identify", {"userId": "ann", **proof("ann")}, None, None),
                ("/api/forms/support_ticket/submissions", {"values": TICKET}, None, None),
            ]
            for path, body, acked, key in calls[i % 4:] + calls[:i % 4]:  # every order at once
                status, answer = browser.call("POST", path, body)
                with lock:
                    answers.append((path, status, code(answer)))
                    if acked is not None and status == 200:
                        acked.add(key)

        for round_ in range(ROUNDS):
            race(THREADS, lambda i, r=round_: tab(i, r))

        assert len(answers) == THREADS * 4 * ROUNDS
        failed = [a for a in answers if a[1] not in (200, 201)]
        assert not [a for a in failed if a[1] >= 500], failed
        assert not [a for a in failed if a[2] == "not_identified"], failed
        assert failed == []
        assert browser.rotations == 0 and browser.token == signed_in  # the same user again: no new token
        status, me = browser.call("GET", "/api/me")
        assert status == 200 and me["userId"] == "ann" and me["verified"] is True
        assert acked_session == set(me["sessionMetadata"]), "acknowledged session metadata lost"
        assert acked_user <= set(me["userMetadata"]), "acknowledged user metadata lost"


def test_a_sign_in_racing_writes_loses_no_acknowledged_write(make_app):
    """A real identity change (anonymous → ann) while 15 other tabs write: each
    write is acknowledged and kept, or refused with 409 ``session_rotated``
    (the tab retries with the cookie its browser now holds); never a 5xx, never
    a new anonymous session that would sign the browser out again."""
    app = make_app(IDENTITY_SECRET=SECRET)
    with serve(app) as port:
        for _ in range(ROUNDS):
            browser = Browser(port)
            assert browser.call("POST", "/api/session/metadata", {"metadata": {"start": 1}})[0] == 200
            browser.rotations = 0  # the new session's first cookie
            acked, answers = {"start"}, []
            lock = threading.Lock()

            def tab(i: int, browser: Browser = browser, acked: set[str] = acked, answers: list = answers) -> None:
                if i == 0:
                    status, answer = browser.call("POST", "/api/identify", {"userId": "ann", **proof("ann")})
                else:
                    status, answer = browser.call("POST", "/api/session/metadata", {"metadata": {f"k{i}": i}})
                with lock:
                    answers.append((i, status, code(answer)))
                    if i and status == 200:
                        acked.add(f"k{i}")

            race(THREADS, tab)
            assert all(s == 200 or (s, c) == (409, "session_rotated") for _, s, c in answers), answers
            assert answers and next(s for i, s, _ in answers if i == 0) == 200
            assert browser.rotations == 1  # the sign-in's new cookie, and no other
            me = browser.call("GET", "/api/me")[1]
            assert me["userId"] == "ann" and acked == set(me["sessionMetadata"])


# -- what a token rotated away may still do ------------------------------------
def _old_cookie(app: Any, token: str) -> Any:
    c = app.test_client()
    c.set_cookie("prefill_session", token)
    return c


@pytest.mark.parametrize("change", ["reset", "another user"])
def test_a_token_rotated_away_by_sign_out_cannot_read_the_identity(verified_app, change):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "ann", "email": "ann@example.com", **proof("ann")})
    c.post("/api/session/metadata", json={"metadata": {"cart": "ann's"}})
    assert c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}).status_code == 201
    ann = c.get_cookie("prefill_session").value
    if change == "reset":
        assert c.post("/api/reset").json["userId"] is None
    else:
        assert c.post("/api/identify", json={"userId": "bob", **proof("bob")}).json["userId"] == "bob"
    now = c.get_cookie("prefill_session").value
    assert now != ann

    old = _old_cookie(verified_app, ann)
    for r in (old.get("/api/me"), old.get("/api/forms/support_ticket"), old.get("/api/submissions"),
              old.post("/api/session/metadata", json={"metadata": {"x": 1}}),
              old.post("/api/user", json={"userId": "bob", "metadata": {"x": 1}}),
              old.post("/api/forms/support_ticket/submissions", json={"values": TICKET})):
        assert r.status_code == 409 and r.json["error"]["code"] == "session_rotated", r.get_data(as_text=True)
        assert "ann" not in r.get_data(as_text=True) and "bob" not in r.get_data(as_text=True)
        assert old.get_cookie("prefill_session").value == ann  # no new session: nothing signs the browser out
    me = c.get("/api/me").json  # the browser's current cookie was not touched by any of it
    assert me["userId"] == (None if change == "reset" else "bob") and "x" not in me["sessionMetadata"]
    assert len(c.get("/api/submissions").json["items"]) == 0

    # Past the grace period the old token is simply unknown: a stale cookie, anonymous.
    with verified_app.extensions["prefill"].db.begin() as conn:
        conn.execute(text("UPDATE rotated_tokens SET expires_at = 0"))
    r = old.get("/api/me")
    assert r.status_code == 200 and r.json["userId"] is None and r.json["sessionMetadata"] == {}
    assert old.get("/api/submissions").json["items"] == []


def test_a_token_planted_before_sign_in_cannot_follow_it(verified_app):
    """Session fixation: the anonymous token a page had before signing in does
    not become the user's, not even during the grace period."""
    c = verified_app.test_client()
    planted = c.post("/api/session").json["sessionToken"]
    c.post("/api/identify", json={"userId": "ann", "email": "ann@example.com", **proof("ann")})
    assert c.get_cookie("prefill_session").value != planted
    r = _old_cookie(verified_app, planted).get("/api/me")
    assert r.status_code == 409 and r.json["error"]["code"] == "session_rotated" and "ann" not in r.get_data(True)
    r = verified_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {planted}"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_session"


def test_a_write_that_loaded_its_session_before_a_rotation_is_refused_not_a_500(verified_app):
    """A request that read its session, then found it rotated away under it by
    another request before its own write: a defined 409, nothing written."""
    from forms.errors import SessionRotated

    st = verified_app.extensions["prefill"]
    c = verified_app.test_client()
    c.post("/api/session/metadata", json={"metadata": {"a": 1}})
    token = c.get_cookie("prefill_session").value
    loaded = st.sessions.load(token)
    c.post("/api/identify", json={"userId": "ann", **proof("ann")})  # rotates under `loaded`
    with pytest.raises(SessionRotated), st.sessions.change(loaded) as tx:
        tx.update_session_metadata({"b": 2})
    assert c.get("/api/me").json["sessionMetadata"] == {"a": 1}


def test_the_same_user_again_keeps_the_token_and_what_a_proof_adds(make_app):
    from web.identity.verify import sign_identity_token

    c = make_app(IDENTITY_SECRET=SECRET).test_client()
    c.post("/api/identify", json={"userId": "ann", **proof("ann")})
    token = c.get_cookie("prefill_session").value
    r = c.post("/api/identify", json={"userId": "ann", "identityToken": sign_identity_token(SECRET, "ann", {
        "plan": "enterprise"})})
    assert r.status_code == 200 and r.json["trustedKeys"] == ["plan"]  # what the proof establishes is kept
    assert c.get_cookie("prefill_session").value == token

    d = make_app().test_client()  # no verification: the claimed user again is no change either
    d.post("/api/identify", json={"userId": "ann", "userMetadata": {"a": 1}})
    token = d.get_cookie("prefill_session").value
    assert d.post("/api/identify", json={"userId": "ann", "userMetadata": {"b": 2}}).json["userMetadata"] == {
        "a": 1, "b": 2}
    assert d.get_cookie("prefill_session").value == token
    d.post("/api/identify", json={"userId": "bob"})
    assert d.get_cookie("prefill_session").value != token


@pytest.mark.parametrize(("language", "words"), [("en", "Reload the page"), ("de", "Laden Sie die Seite neu")])
def test_a_page_opened_with_a_rotated_cookie_says_to_reload(verified_app, language, words):
    c = verified_app.test_client()
    ann = c.post("/api/identify", json={"userId": "ann", **proof("ann")}) and c.get_cookie("prefill_session").value
    c.post("/api/reset")
    r = _old_cookie(verified_app, ann).get("/forms/support_ticket",
                                           headers={"Accept": "text/html", "Accept-Language": language})
    assert r.status_code == 409 and words in r.get_data(as_text=True)
