"""What every request does, made cheaper (issue 19) without changing what it
means: the provider output's cache key, the fused hooks, the per-thread
identity read on SQLite, the memoised localized identity, the body check."""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import pytest

from forms.engine import _fingerprint
from forms.errors import SchemaError
from forms.identity import Identity
from tests.conftest import wipe

ROOT = Path(__file__).resolve().parent.parent


# -- the provider output's cache key ----------------------------------------
@pytest.mark.parametrize("a, b", [
    (1, 1.0), (1, True), (0, False), (0.0, -0.0), ([1, 2], (1, 2)), ("1", 1), (None, "null"),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}), ("é", "e\u0301"), ([], {}), ("", None),
])
def test_outputs_that_differ_never_share_a_key(a, b):
    assert _fingerprint("p", {"x": a}) != _fingerprint("p", {"x": b})


def test_equal_outputs_share_a_key_whatever_their_strings_identity():
    made = "".join(["lab", "el"])  # equal to, but not the same object as, the literal
    assert made is not "label"  # noqa: F632
    assert _fingerprint("p", {"fields": [{"label": made}]}) == _fingerprint("p", {"fields": [{"label": "label"}]})


def test_what_marshal_cannot_write_keys_by_its_json_text():
    class Fields(dict):
        pass

    key = _fingerprint("p", Fields(fields=[]))
    assert key == '{"fields":[]}'  # a str: never equal to a marshal key (bytes)
    assert key != _fingerprint("p", {"fields": []})


@pytest.mark.parametrize("bad", [math.nan, {1, 2}, b"bytes", 1j])
def test_an_output_json_cannot_hold_is_still_a_schema_error(make_app, bad):
    app = make_app()
    engine = app.extensions["prefill"].engine
    with pytest.raises(SchemaError):
        engine.schema_for("p", {"fields": [{"name": "a", "defaultValue": bad}]})
    with pytest.raises(SchemaError):  # and again: nothing was cached
        engine.schema_for("p", {"fields": [{"name": "a", "defaultValue": bad}]})


def test_visitor_id_templates_are_still_found_in_the_key(make_app):
    """A form that templates {{visitorId}} resolves per visitor, not per content
    (two visitors with the same data share a content key)."""
    engine = make_app().extensions["prefill"].engine
    same = {"cache_key": None, "content_key": ("same",), "user_id": "u"}
    one = Identity(visitor_id="v_one", **{**same, "cache_key": ("v_one", "same")})
    two = Identity(visitor_id="v_two", **{**same, "cache_key": ("v_two", "same")})
    greeting = [engine.resolve("templated", {}, who).fields[0].value for who in (one, two)]
    assert greeting[0].endswith("(u, v_one)") and greeting[1].endswith("(u, v_two)")


# -- fused hooks ------------------------------------------------------------
def test_the_app_wide_hooks_are_one_each_way(app):
    assert len(app.before_request_funcs[None]) == 1
    assert len(app.after_request_funcs[None]) == 1


def test_a_refused_origin_still_gets_its_request_id_and_no_view(make_app):
    app = make_app(WIDGET_ORIGINS="https://shop.example")
    client = app.test_client()
    r = client.get("/api/forms/support_ticket", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json["error"]["code"] == "origin_not_allowed"
    assert len(r.headers["X-Request-Id"]) == 32  # the request-id step runs before the refusal now
    assert "Access-Control-Allow-Origin" not in r.headers
    ok = client.get("/api/forms/support_ticket", headers={"Origin": "https://shop.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert ok.headers["Vary"] == "Cookie, Authorization, Origin"
    assert ok.headers["Cache-Control"] == "private, no-store"


def test_a_page_keeps_the_csp_a_view_set_itself(make_app):
    app = make_app()

    @app.get("/own-csp")
    def own():  # a view's own header wins over the default one
        return "<p>x</p>", 200, {"Content-Security-Policy": "default-src 'none'", "Content-Type": "text/html"}

    r = app.test_client().get("/own-csp")
    assert r.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    page = app.test_client().get("/forms/support_ticket")
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]


# -- the identity read ------------------------------------------------------
def _identify(client, user_id, **meta):
    token = client.post("/api/session").json["sessionToken"]
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/identify", json={"userId": user_id, "userMetadata": meta}, headers=h).status_code == 200
    return h


def test_a_change_by_another_instance_is_seen_at_the_next_read(make_app, db_url):
    """Two apps on one database (two workers): the first's thread keeps its
    connection; what the second commits is read by the first's next request."""
    one, two = make_app(), make_app()
    h = _identify(one.test_client(), "u1", name="Ann")
    assert one.test_client().get("/api/me", headers=h).json["userMetadata"]["name"] == "Ann"
    assert two.test_client().post("/api/user", json={"userId": "u1", "name": "Bea"},
                                  headers=h).status_code == 200
    assert one.test_client().get("/api/me", headers=h).json["userMetadata"]["name"] == "Bea"
    assert two.test_client().post("/api/reset", headers=h).status_code == 200
    assert one.test_client().get("/api/me", headers=h).json["userId"] is None
    if db_url.startswith("sqlite"):
        assert one.extensions["prefill"].sessions._thread_reads is not None


def test_each_thread_reads_on_its_own_connection_and_a_broken_one_is_replaced(make_app, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL reads through its pool")
    app = make_app()
    client = app.test_client()
    h = _identify(client, "u1", name="Ann")
    reads = app.extensions["prefill"].sessions._thread_reads
    client.get("/api/me", headers=h)
    mine = reads._local.reader.conn
    seen = []

    def other() -> None:
        seen.append(app.test_client().get("/api/me", headers=h).json["userId"])
        seen.append(reads._local.reader.conn)

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert seen[0] == "u1" and seen[1] is not mine
    mine.close()  # broken under this thread: the read still answers, then a new connection is used
    assert client.get("/api/me", headers=h).json["userId"] == "u1"
    assert client.get("/api/me", headers=h).json["userId"] == "u1"
    assert reads._local.reader.conn is not mine
    reads.close()
    assert client.get("/api/me", headers=h).json["userId"] == "u1"


def test_a_thread_that_ends_closes_its_connection(make_app, db_url):
    """A server that starts a thread per request (``make run``) must not keep
    a connection, and its file handles, per request it ever served."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL reads through its pool")
    import gc
    import os

    app = make_app()
    h = _identify(app.test_client(), "u1", name="Ann")
    reads = app.extensions["prefill"].sessions._thread_reads

    def once() -> None:
        assert app.test_client().get("/api/me", headers=h).json["userId"] == "u1"

    def files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = files()
    for _ in range(40):
        worker = threading.Thread(target=once)
        worker.start()
        worker.join()
    gc.collect()
    assert len(reads._readers) <= 1 and files() <= before + 2


def test_a_memory_database_reads_through_the_pool():
    from store.db import make_engine
    from store.threadreads import thread_reads

    assert thread_reads(make_engine("sqlite://")) is None


# -- the reader's language --------------------------------------------------
def test_a_localized_identity_is_made_once_per_language():
    who = Identity(user_id="u", cache_key=("k",), content_key=("c",))
    de = who.with_locale("de")
    assert who.with_locale("de") is de and de.cache_key == (("k",), "de") and de.content_key == (("c",), "de")
    assert who.with_locale("fr") is not de and who.with_locale("fr").locale == "fr"
    for n in range(20):  # bounded
        who.with_locale(f"x{n}")
    assert len(who._readings) == 8
    assert who == Identity(user_id="u")  # the memo takes no part in equality


def test_accept_language_still_chooses_the_page_language(client):
    page = client.get("/forms/support_ticket", headers={"Accept-Language": "de-CH, en;q=0.5"})
    assert '<html lang="de">' in page.get_data(as_text=True)
    assert '<html lang="en">' in client.get("/forms/support_ticket").get_data(as_text=True)


# -- the body check ---------------------------------------------------------
def test_a_get_body_is_not_read_but_a_post_without_length_is(app):
    from web.plumbing.bodysize import ChunkedBodyLimit

    seen = {}

    def inner(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        seen["length"] = environ.get("CONTENT_LENGTH")
        return []

    limit = ChunkedBodyLimit(inner, 10)
    body = io.BytesIO(b"x" * 50)
    limit({"REQUEST_METHOD": "GET", "wsgi.input": body, "wsgi.input_terminated": True}, None)
    assert seen["input"] is body and body.tell() == 0
    limit({"REQUEST_METHOD": "POST", "wsgi.input": body, "wsgi.input_terminated": True}, None)
    assert seen["input"] is not body and seen["length"] == "11"  # limit + 1: werkzeug's 413
    chunked = io.BytesIO(b"y" * 5)
    limit({"REQUEST_METHOD": "GET", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": chunked,
           "wsgi.input_terminated": True}, None)
    assert seen["length"] == "5"  # a chunked GET is still bounded


# -- "or less": a repeat read on SQLite costs a version check ----------------
@pytest.fixture
def sqlite_sessions(sqlite_url):
    from store.db import make_engine
    from store.sessions import SessionStore

    wipe(sqlite_url)
    engine = make_engine(sqlite_url)
    store = SessionStore(engine, 30)
    yield store
    store.close()
    engine.dispose()


def _counting(store, monkeypatch):
    calls = []
    real = store._fetch

    def fetch(token_hash, retry=True):
        calls.append(token_hash)
        return real(token_hash, retry)

    monkeypatch.setattr(store, "_fetch", fetch)
    return calls


def test_a_repeat_read_is_not_read_again_until_anyone_commits(sqlite_sessions, sqlite_url, monkeypatch):
    from sqlalchemy import text

    from store.db import make_engine

    store = sqlite_sessions
    token, row = store.create()
    calls = _counting(store, monkeypatch)
    first = store.load(token)
    assert store.load(token) is first and store.load(token) is first and len(calls) == 1
    other = make_engine(sqlite_url)  # another worker's connection changes the row
    with other.begin() as conn:
        conn.execute(text("UPDATE sessions SET claimed = '{\"name\": \"Bea\"}' WHERE token_hash = :h"),
                     {"h": row.token_hash})
    again = store.load(token)
    assert len(calls) == 2 and again.claimed == '{"name": "Bea"}'
    with other.begin() as conn:  # signed out elsewhere: gone at the next read
        conn.execute(text("DELETE FROM sessions WHERE token_hash = :h"), {"h": row.token_hash})
    assert store.load(token) is None
    other.dispose()


def test_a_remembered_session_still_expires(sqlite_sessions, monkeypatch):
    store = sqlite_sessions
    token, _ = store.create()
    assert store.load(token) is not None
    calls = _counting(store, monkeypatch)
    store.ttl_ms = -1  # as if its time had passed: a remembered row is checked as a read one
    assert store.load(token) is None and calls == []


def test_the_memo_is_bounded_and_starts_again_on_a_new_connection(sqlite_sessions, monkeypatch):
    from store import threadreads

    store = sqlite_sessions
    reads = store._thread_reads
    monkeypatch.setattr(threadreads, "MEMO_BYTES", 3000)
    tokens = [store.create()[0] for _ in range(8)]
    for t in tokens:
        store.load(t)
    assert 0 < len(reads.memo()) < 8 and reads._local.reader.memo_bytes <= 3000
    reads._local.reader.conn.close()  # broken: the next read opens another connection, and a new memo
    assert store.load(tokens[-1]) is not None
    assert list(reads.memo()) in ([], [tokens[-1]])


# -- a submission's body ----------------------------------------------------
@pytest.mark.parametrize("body", [
    {"values": {}}, {"values": {"a": 1, "b": [1, {"c": None}]}}, {"values": {"a": "x"}, "args": None},
    {"values": {"a": "x"}, "args": {"orderId": "A-1"}}, {"values": {"a": "x"}, "args": {"n": 1}},
    {"values": {"a": "x"}, "args": ["x"]}, {"values": {"a": "x"}, "args": {"n": None}}, {"values": None},
    {"values": []}, {"values": "x"}, {}, {"args": {}}, {"values": {}, "extra": 1}, {"values": {}, "Values": {}},
])
def test_the_usual_submission_body_is_loaded_as_the_schema_loads_it(body):
    from forms.errors import ValidationFailed
    from web.schemas import bodies

    def outcome(fn):
        try:
            return "ok", fn(dict(body))
        except ValidationFailed as exc:
            return "error", exc.fields

    assert outcome(bodies.submission_body) == outcome(lambda b: bodies.load(bodies.SubmissionBody, b))


@pytest.mark.parametrize("raw, lone", [
    (b'{"values": {"a": "\\ud800"}}', True), (b'{"values": {"a": "\\ud83d\\ude00"}}', False),
    (b'{"values": {"a": "\xed\xa0\x80"}}', True), (b'{"values": {"a": "caf\xc3\xa9 \xf0\x9f\x98\x80"}}', False),
    (b'{"values": {"\\ud800": 1}}', True), ('{"values": {"a": "\\u00e9"}}'.encode("utf-16"), False),
])
def test_a_lone_surrogate_is_found_with_or_without_escapes(client, raw, lone):
    r = client.post("/api/forms/support_ticket/submissions", data=raw, headers={"Content-Type": "application/json"})
    if lone:
        assert r.status_code == 400 and "valid Unicode" in r.json["error"]["message"]
    else:
        assert r.status_code == 422  # read and parsed: the form's own checks answer


# -- what a worker loads ----------------------------------------------------
def test_the_newest_revision_is_read_as_alembic_reads_it():
    from alembic.script import ScriptDirectory

    from store.db import _alembic_config, _expected_heads

    assert _expected_heads() == frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def test_revision_lines_are_read_annotated_or_not(tmp_path):
    from store.db import heads_in

    (tmp_path / "a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text("revision: str = '0002'\ndown_revision: Union[str, None] = '0001'\n")
    (tmp_path / "c.py").write_text('revision = "0003"\ndown_revision = ("0002", "0001")\n')
    assert heads_in(tmp_path) == {"0003"}
    (tmp_path / "d.py").write_text('revision = "0002b"\ndown_revision = "0001"\n')
    assert heads_in(tmp_path) == {"0003", "0002b"}


def test_a_schema_behind_or_missing_is_not_current(tmp_path):
    from alembic import command

    from store.db import _alembic_config, make_engine, migrate, schema_is_current

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert not schema_is_current(engine)  # no alembic_version table at all
    migrate(engine)
    assert schema_is_current(engine)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    assert not schema_is_current(engine)
    migrate(engine)
    assert schema_is_current(engine)
    engine.dispose()


def test_a_worker_on_a_current_database_loads_neither_alembic_nor_another_dialect(tmp_path):
    """Alembic (with Mako and Pygments) is ~10 MiB a worker, PostgreSQL's
    dialect 2 MiB on SQLite: loaded only when there is a migration to run."""
    import subprocess
    import sys

    from store.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    migrate(make_engine(url))
    code = ("import sys; from app import create_app; app = create_app(); c = app.test_client();"
            "assert c.get('/readyz').status_code == 200; assert c.get('/forms/support_ticket').status_code == 200;"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako', 'pygments'}),"
            " 'sqlalchemy.dialects.postgresql' in sys.modules)")
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "SECRET_KEY": "x", "PREFILL_BUILTIN_FORMS": "1",
           "LOG_LEVEL": "WARNING"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] False"
