"""Regression tests that attack: the defects of the hardening review (3-18).

Each test sends what the attacker sent and checks the answer is a clear 4xx in
the one error shape (never a 500) and that nothing was written.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import text

from store.cursor import encode
from web.render import compiled

from .conftest import SECRET, proof

TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


def count(app, table):
    with app.extensions["prefill"].db.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["error"]["code"] == code
    return r.json["error"]


# -- 3: provider exceptions are logged without the user's secrets ------------
def test_provider_exception_text_is_logged_without_secrets(client, caplog):
    client.post("/api/identify", json={"userId": "u1", "metadata": {"authToken": "tok-9f8e7d6c5b"}})
    with caplog.at_level(logging.DEBUG):
        r = client.get("/api/forms/quoting")
    error(r, 500, "provider_failed")
    assert "tok-9f8e7d6c5b" not in caplog.text
    assert "upstream refused token [redacted]" in caplog.text  # the operator still sees what happened


# -- 4, 15: identifiers must fit their columns, no trailing newline --------
@pytest.mark.parametrize("body", [
    {"visitorId": "v_1700000000000_" + "a" * 66},  # 83 characters: was a 500 on PostgreSQL
    {"visitorId": "v_1700000000000_abc123xyz\n"},
    {"visitorId": "v_\u0661\u0667\u0660\u06600000000000_abc123xyz"},  # Arabic-Indic digits
])
def test_visitor_ids_that_do_not_fit_are_400(client, body):
    assert "visitorId" in error(client.post("/api/session", json=body), 400, "validation_failed")["fields"]


@pytest.mark.parametrize("user_id", ["u" * 255 + "\n", "u" * 256, "ann\n", "\n"])
def test_user_ids_that_do_not_fit_are_400(app, client, user_id):
    r = client.post("/api/identify", json={"userId": user_id, "metadata": {"authToken": "secret-param-1"}})
    assert "userId" in error(r, 400, "validation_failed")["fields"]
    assert count(app, "users") == 0


def test_database_errors_are_logged_without_values(app, caplog):
    def failing_write():  # a write the database refuses, with a secret among its values
        with app.extensions["prefill"].db.begin() as conn:
            conn.execute(text("INSERT INTO users (user_id, claimed, trusted, created_at, updated_at)"
                              " VALUES (:u, :c, '{}', NULL, 1)"), {"u": "u1", "c": '{"authToken": "param-secret-42"}'})

    app.add_url_rule("/boom", "boom", failing_write)
    with caplog.at_level(logging.DEBUG):
        r = app.test_client().get("/boom")
    error(r, 500, "internal_error")
    assert "param-secret-42" not in caplog.text and "param-secret-42" not in r.get_data(as_text=True)
    assert "database error on GET /boom" in caplog.text and "INSERT INTO users" in caplog.text


# -- 5: JSON only, and no cookie-authenticated change from a foreign origin --
def test_a_text_plain_body_is_415(app, client):
    r = client.post("/api/identify", data=json.dumps({"userId": "u1"}), content_type="text/plain")
    error(r, 415, "unsupported_media_type")
    r = client.post("/api/forms/support_ticket/submissions", data=json.dumps({"values": TICKET}),
                    content_type="application/x-www-form-urlencoded")
    error(r, 415, "unsupported_media_type")
    assert count(app, "submissions") == 0 and count(app, "users") == 0


ATTACKS = [
    ("/api/identify", {"userId": "attacker"}),
    ("/api/reset", None),
    ("/api/session/metadata", {"metadata": {"a": 1}}),
    ("/api/forms/support_ticket/submissions", {"values": TICKET}),
]


@pytest.mark.parametrize(("path", "body"), ATTACKS)
@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.localhost"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "same-site"},  # a browser request with no Origin header
])
def test_cookie_changes_from_a_foreign_origin_are_403(app, client, path, body, headers):
    client.post("/api/identify", json={"userId": "victim", "email": "v@example.com"})
    before = client.get("/api/me").json
    r = client.post(path, json=body, headers=headers)
    error(r, 403, "origin_not_allowed")
    assert client.get("/api/me").json == before and count(app, "submissions") == 0


def test_listed_and_own_origins_and_bearer_requests_may_change(make_app):
    app = make_app(WIDGET_ORIGINS="https://shop.example")
    c = app.test_client()
    assert c.post("/api/identify", json={"userId": "a"}, headers={"Origin": "http://localhost"}).status_code == 200
    assert c.post("/api/identify", json={"userId": "b"}, headers={"Origin": "https://shop.example"}).status_code == 200
    token = c.post("/api/session").json["sessionToken"]
    bare = app.test_client()
    r = bare.post("/api/identify", json={"userId": "c"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200  # a bearer token is never sent by a browser on its own
    # ...but a page of an unlisted site gets no answer at all (issue 7: CORS only for WIDGET_ORIGINS).
    r = bare.post("/api/identify", json={"userId": "c"},
                  headers={"Origin": "https://other.example", "Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers


# -- 6: /api/update is all or nothing ----------------------------------------
def test_update_writes_nothing_when_a_part_is_refused(app, client):
    r = client.post("/api/update", json={"user": {"userId": "u1", "email": "a@b.co"},
                                         "session": {"metadata": {"big": "x" * 17000}}})
    error(r, 400, "validation_failed")
    assert client.get("/api/me").json["userId"] is None
    client.post("/api/identify", json={"userId": "u1", "email": "a@b.co"})
    r = client.post("/api/update", json={"user": {"userId": "u1", "email": "new@b.co"},
                                         "session": {"metadata": {"big": "x" * 17000}}})
    error(r, 400, "validation_failed")
    assert client.get("/api/me").json["userMetadata"] == {"email": "a@b.co"}


def test_update_with_a_wrong_proof_writes_nothing(verified_app):
    c = verified_app.test_client()
    r = c.post("/api/update", json={"user": {"userId": "u1", "userHash": "0" * 64},
                                    "session": {"metadata": {"page": "/billing"}}})
    error(r, 401, "identity_unverified")
    assert c.get("/api/me").json["sessionMetadata"] == {}


# -- 7, 8, 10: strings that are not text, numbers past 2**53, non-ASCII proofs -
LONE = '"\\ud800"'


@pytest.mark.parametrize(("path", "raw"), [
    ("/api/identify", '{"userId": ' + LONE + '}'),
    ("/api/identify", '{"userId": "u1", "metadata": {"k": ' + LONE + '}}'),
    ("/api/identify", '{"userId": "u1", "metadata": {' + LONE + ': 1}}'),
    ("/api/session/metadata", '{"metadata": {"k": ' + LONE + '}}'),
    ("/api/forms/support_ticket/submissions", '{"values": {"message": ' + LONE + '}}'),
    ("/api/identify", '{"userId": "u1", "userHash": ' + LONE + '}'),
    ("/api/identify", '{"userId": "u1", "metadata": {"n": ' + "9" * 400 + '}}'),
    ("/api/identify", '{"userId": "u1", "metadata": {"n": 9007199254740993}}'),
    ("/api/forms/all_types/submissions", '{"values": {"number": ' + "1" * 400 + '}}'),
    ("/api/forms/all_types/submissions", '{"values": {"number": -9007199254740993}}'),
])
def test_json_that_cannot_be_carried_is_400(app, client, path, raw):
    r = client.post(path, data=raw, content_type="application/json")
    error(r, 400, "validation_failed")
    assert count(app, "submissions") == 0 and count(app, "users") == 0


def test_a_big_integer_in_stored_metadata_does_not_break_later_views(app, client):
    # Data stored before the fix: a view must still work (the value just does not fit).
    client.post("/api/identify", json={"userId": "u1", "metadata": {"number": 1}})
    with app.extensions["prefill"].db.begin() as conn:
        conn.execute(text("UPDATE sessions SET claimed = :c"), {"c": '{"number": ' + "9" * 400 + "}"})
    assert client.get("/api/forms/all_types").status_code == 200


def test_a_huge_number_typed_into_an_html_form_is_a_field_error(app, client):
    import re
    html = client.get("/forms/all_types").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/forms/all_types", data={"csrf_token": csrf, "number": "1" * 400, "checkbox": "y"})
    assert r.status_code == 422 and "Must be a number." in r.get_data(as_text=True)


def test_non_ascii_user_hash_and_csrf_token_are_refused_not_500(verified_app):
    c = verified_app.test_client()
    error(c.post("/api/identify", json={"userId": "u1", "userHash": "é" * 64}), 401, "identity_unverified")
    c.get("/forms/support_ticket")
    r = c.post("/forms/support_ticket", data={"csrf_token": "é" * 40, **TICKET})
    assert r.status_code == 400 and 'data-code="csrf_failed"' in r.get_data(as_text=True)


# -- 9: a URL that urlsplit cannot parse ------------------------------------
@pytest.mark.parametrize("url", ["http://[", "http://[::1", "https://]"])
def test_unparseable_url_is_a_field_error(client, url):
    r = client.post("/api/forms/all_types/submissions", json={"values": {"url": url}})
    assert error(r, 422, "validation_failed")["fields"]["url"] == ["Must be an http(s) URL."]


# -- 11: cursors beyond 64 bits --------------------------------------------
@pytest.mark.parametrize("path", ["/api/submissions", "/api/admin/submissions", "/api/admin/webhooks/deliveries"])
def test_cursor_beyond_64_bits_is_400(verified_app, path):
    c = verified_app.test_client()
    cursor = encode(2**64, "sub_" + "0" * 24)
    r = c.get(path, query_string={"cursor": cursor}, headers={"Authorization": "Bearer admin-key"})
    assert "cursor" in error(r, 400, "validation_failed")["fields"]


# -- 12: idempotency across a shared computer ------------------------------
def test_idempotency_key_never_replays_another_identity(verified_app):
    app, c = verified_app, verified_app.test_client()
    c.post("/api/identify", json={"userId": "ann", "email": "ann@example.com", **proof("ann")})
    h = {"Idempotency-Key": "same-key"}
    first = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers=h)
    assert first.status_code == 201
    c.post("/api/reset")
    again = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers=h)
    assert again.status_code == 201 and again.json["id"] != first.json["id"]
    assert "ann@example.com" not in again.get_data(as_text=True) or TICKET["email"] == "ann@example.com"
    c.post("/api/identify", json={"userId": "bob", "email": "bob@example.com", **proof("bob")})
    bob = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers=h)
    assert bob.status_code == 201 and bob.json["id"] not in (first.json["id"], again.json["id"])
    assert count(app, "submissions") == 3
    c.post("/api/identify", json={"userId": "ann", **proof("ann")})  # Ann again: her own key still replays
    replay = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers=h)
    assert replay.status_code == 201 and replay.json["id"] == first.json["id"]


# -- 13: visitor-id fixation and session fixation ------------------------------
def test_a_foreign_visitor_id_cannot_be_adopted(verified_app):
    victim, attacker = verified_app.test_client(), verified_app.test_client()
    victim_vid = victim.get("/api/me").json["visitorId"] or victim.post("/api/session").json["visitorId"]
    assert victim.post("/api/forms/support_ticket/submissions", json={"values": TICKET}).status_code == 201
    r = attacker.post("/api/session", json={"visitorId": victim_vid + "x"})  # tampered: refused by its tag
    assert r.json["visitorId"] != victim_vid + "x" and r.json["warnings"]
    forged = victim_vid[:-16] + "0" * 16
    r = attacker.post("/api/session", json={"visitorId": forged})
    assert r.json["visitorId"] != forged and r.json["warnings"]
    assert attacker.get("/api/submissions").json["items"] == []
    attacker.post("/api/identify", json={"userId": "mallory", **proof("mallory")})
    assert attacker.get("/api/submissions").json["items"] == []
    assert len(victim.get("/api/submissions").json["items"]) == 1


def test_identify_and_reset_rotate_a_cookie_session(app):
    c = app.test_client()
    c.post("/api/session")
    old = c.get_cookie("prefill_session").value
    c.post("/api/identify", json={"userId": "u1"})
    new = c.get_cookie("prefill_session").value
    assert new != old
    bare = app.test_client()
    error(bare.get("/api/me", headers={"Authorization": f"Bearer {old}"}), 401, "invalid_session")
    assert bare.get("/api/me", headers={"Authorization": f"Bearer {new}"}).json["userId"] == "u1"
    c.post("/api/reset")
    assert c.get_cookie("prefill_session").value not in (old, new)
    assert c.get("/api/me").json["userId"] is None


def test_a_bearer_session_keeps_its_token(app):
    token = app.test_client().post("/api/session").json["sessionToken"]
    bare = app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    bare.post("/api/identify", json={"userId": "u1"}, headers=h)
    bare.post("/api/reset", headers=h)
    bare.post("/api/identify", json={"userId": "u2"}, headers=h)
    assert bare.get("/api/me", headers=h).json["userId"] == "u2" and bare.get_cookie("prefill_session") is None


# -- 14: anonymous traffic does not grow memory; caches bounded in bytes ----
def test_anonymous_visitors_share_one_cached_page(app):
    st = app.extensions["prefill"]
    pages = []
    for _ in range(300):
        c = app.test_client()
        pages.append(c.get("/forms/support_ticket").get_data(as_text=True))
    assert len(st.pages) == 1  # one page for every anonymous visitor; the CSRF token is filled in per visitor
    tokens = {p.split('name="csrf_token" value="')[1].split('"')[0] for p in pages}
    assert len(tokens) == 300
    assert "csrf-slot-" not in pages[0] and compiled.MARKS[compiled.HIDDEN] not in pages[0]


def test_caches_stay_within_their_byte_budget(make_app):
    app = make_app(ENGINE_CACHE_MB=1)
    st = app.extensions["prefill"]
    big = {"metadata": {"company": "c" * 3000, "name": "n" * 3000}}
    for i in range(60):
        c = app.test_client()
        c.post("/api/identify", json={"userId": f"u{i}", **big})
        assert c.get("/forms/support_ticket").status_code == 200
        assert c.get("/api/forms/support_ticket").status_code == 200
    budget = 1 << 20
    held = (st.engine._schemas.bytes + st.engine._resolved.bytes + st.fragments.bytes + st.pages.bytes
            + st.compiled.bytes + st.sessions.identities.bytes)
    assert held <= budget
    assert st.pages.bytes <= budget // 4 and len(st.pages) < 120  # evicted by bytes, not by count


# -- 16: metadata limits hold for what is stored ----------------------------
@pytest.mark.parametrize(("path", "body"), [
    ("/api/user", lambda i: {"userId": "u1", "metadata": {f"k{i}": "x" * 9000}}),
    ("/api/session/metadata", lambda i: {"metadata": {f"k{i}": "x" * 9000}}),
])
def test_merges_cannot_grow_metadata_past_16_kib(client, path, body):
    client.post("/api/identify", json={"userId": "u1"})
    assert client.post(path, json=body(1)).status_code == 200
    before = client.get("/api/me").json
    error(client.post(path, json=body(2)), 400, "validation_failed")
    assert client.get("/api/me").json == before


def test_verified_profile_merges_are_limited_too(verified_app):
    c = verified_app.test_client()
    first = c.post("/api/identify", json={"userId": "u1", "metadata": {"a": "x" * 9000}, **proof("u1")})
    assert first.status_code == 200
    error(c.post("/api/identify", json={"userId": "u1", "metadata": {"b": "x" * 9000}, **proof("u1")}),
          400, "validation_failed")


# -- 17: the secret sweep covers numbers and patterns -------------------------
def test_numeric_secret_default_and_secret_pattern_are_blanked(client, caplog):
    client.post("/api/identify", json={"userId": "u1", "metadata": {"pinSecret": 73519, "authToken": "tok-abcdef"}})
    with caplog.at_level(logging.WARNING):
        r = client.get("/api/forms/secret_copies")
        html = client.get("/forms/secret_copies").get_data(as_text=True)
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    for leaked in ("73519", "tok-abcdef"):
        assert leaked not in body and leaked not in html and leaked not in caplog.text
    assert "blanked" in caplog.text


# -- 18: chunked bodies over the limit ------------------------------------------
def test_a_chunked_body_over_the_limit_is_413(make_app):
    app = make_app(MAX_BODY_BYTES=1000)
    c = app.test_client()
    body = json.dumps({"values": {**TICKET, "message": "m" * 5000}}).encode()
    r = c.post("/api/forms/support_ticket/submissions", input_stream=io.BytesIO(body),
               headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    error(r, 413, "payload_too_large")
    small = json.dumps({"values": TICKET}).encode()
    r = c.post("/api/forms/support_ticket/submissions", input_stream=io.BytesIO(small),
               headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    assert r.status_code == 201 and count(app, "submissions") == 1


# -- also: headers of error pages, 405 Allow -------------------------------------
@pytest.mark.parametrize("path", ["/forms/nope", "/forms/broken", "/no/such/page"])
def test_html_error_pages_carry_security_headers(client, path):
    r = client.get(path)
    assert r.status_code in (404, 500)
    if r.mimetype == "text/html":
        assert "frame-ancestors" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Referrer-Policy"]


def test_405_names_the_allowed_methods(client):
    r = client.delete("/api/identify")
    error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]


def _deep(obj, seen):
    import dataclasses
    import sys
    from types import MappingProxyType

    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, MappingProxyType):
        obj = dict(obj)
    if isinstance(obj, dict):
        size += sum(_deep(k, seen) + _deep(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(_deep(v, seen) for v in obj)
    elif dataclasses.is_dataclass(obj):
        size += sum(_deep(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    return size


@pytest.mark.parametrize(("n", "text_len"), [(1, 1), (6, 10), (500, 10), (50, 1000), (200, 3)])
def test_cache_weights_are_not_below_what_entries_hold(n, text_len):
    from forms.engine import resolved_bytes, schema_bytes
    from forms.identity import Identity
    from forms.resolve import _statics, resolve
    from forms.schema import load_schema
    from forms.sensitive import SensitiveKeys
    from store.session_change import SessionRow
    from store.sessions import identity_bytes

    raw = {"fields": [
        {"name": f"f{i}", "label": "L\u00e9" * text_len, "help": "{{userMetadata.name}}" if i % 2 else "h",
         "type": "select" if i % 3 == 0 else "text",
         **({"options": [{"label": "o" * text_len, "value": f"v{j}"} for j in range(5)]} if i % 3 == 0 else {})}
        for i in range(n)]}
    fp = json.dumps(raw, separators=(",", ":"))
    schema = load_schema("x", raw)
    _statics(schema)
    seen: set[int] = set()
    assert _deep(schema, seen) + _deep(fp, set()) <= schema_bytes(("x", fp), schema)
    claimed = json.dumps({"name": "N\u00e9" * 500, **{f"f{i}": "v" * 40 for i in range(1, n, 3)}})
    row = SessionRow("h" * 64, "v_1_abc", "u1", False, claimed, "{}", 0)
    ident = Identity.build(user_id="u1", visitor_id=row.visitor_id, claimed=json.loads(claimed),
                           cache_key=row.cache_key, content_key=row.content_key)
    assert _deep(ident, set()) + _deep(row.cache_key, set()) <= identity_bytes(row.cache_key, ident)
    form = resolve("x", schema, ident, SensitiveKeys(), key=("x", fp, row.content_key))
    assert _deep(form, seen) <= resolved_bytes(form.key, form)  # all it holds beyond its schema


def test_a_delivery_erased_after_it_was_claimed_is_not_sent(make_app):
    from store.outbox import Outbox
    from webhooks.worker import Worker

    app = make_app(WEBHOOK_URL="http://127.0.0.1:9/never", WEBHOOK_SECRET="s", ADMIN_API_KEY="admin-key",
                   IDENTITY_SECRET=SECRET)
    c = app.test_client()
    c.post("/api/identify", json={"userId": "gone", **proof("gone")})
    assert c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}).status_code == 201
    outbox = Outbox(app.extensions["prefill"].db)
    worker = Worker.from_app(app)
    sent = []
    worker.post = lambda item: sent.append(item) or ("delivered", None)
    (item,) = outbox.claim(10, lease_ms=60_000)
    assert c.delete("/api/admin/users/gone", headers={"Authorization": "Bearer admin-key"}).status_code == 204
    assert worker.handle(item) == "erased" and sent == []


def test_csv_rows_arriving_during_an_export_keep_their_columns(make_app):
    app = make_app(ADMIN_API_KEY="admin-key")
    c = app.test_client()
    for i in range(3):
        c.post("/api/forms/open_form/submissions", json={"values": {"email": f"a{i}@b.co"}})
    store = app.extensions["prefill"].submissions
    original = store.admin_iter

    def racing(*args, **kwargs):  # a submission with a new column arrives mid-export
        for n, item in enumerate(original(*args, **kwargs)):
            if n == 1:
                c.post("/api/forms/all_types/submissions", json={"values": {"tel": "+49 1234567"}})
            yield item

    store.admin_iter = racing
    body = c.get("/api/admin/submissions?format=csv", headers={"Authorization": "Bearer admin-key"})
    import csv as csvmod
    rows = list(csvmod.DictReader(io.StringIO(body.get_data(as_text=True))))
    for row in rows:
        assert all(v is not None for v in row.values()), row  # no row longer than the header
    assert {r["values.email"] for r in rows} >= {"a0@b.co", "a1@b.co", "a2@b.co"}


def test_html_error_pages_tell_end_users_little_and_the_log_the_rest(make_app, caplog):
    c = make_app().test_client()
    with caplog.at_level(logging.INFO):
        missing = c.get("/forms/nope").get_data(as_text=True)
        broken = c.get("/forms/bad_schema")
    assert "registered" not in missing and "all_types" not in missing
    assert broken.status_code == 500 and "prio" not in broken.get_data(as_text=True)
    assert "Something went wrong on our side." in broken.get_data(as_text=True)
    assert "registered: " in caplog.text and "field 'prio'" in caplog.text
    embedded = c.get("/forms/nope?embed=1").get_data(as_text=True)
    assert 'class="embed"' in embedded and 'class="bar"' not in embedded
    dev = make_app(PREFILL_DEV=True).test_client().get("/forms/nope").get_data(as_text=True)
    assert "registered: " in dev  # authors see the details with PREFILL_DEV=1


def test_a_favicon_instead_of_a_404(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
