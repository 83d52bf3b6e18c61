"""The widget's server side over HTTP: /widget.js, CORS, signed embed links,
bearer-authenticated HTML forms and ad-hoc forms (the browser tests are in
test_widget_browser.py)."""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import SECRET, proof
from web.identity.verify import sign_identity_token

HOST = "http://localhost:5601"


def count(app, table, where=""):
    with app.extensions["prefill"].db.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table} {where}")).scalar_one()


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["error"]["code"] == code
    return r.json["error"]


def embed_token(user_id="u1", ttl=300, jti=True, **claims):
    if jti:
        claims["jti"] = uuid.uuid4().hex
    return sign_identity_token(SECRET, user_id, {"email": "ann@example.com", **claims}, ttl_s=ttl)


@pytest.fixture
def wapp(make_app):
    return make_app(IDENTITY_SECRET=SECRET, WIDGET_ORIGINS=HOST, ADHOC_FORMS=True)


# -- /widget.js ------------------------------------------------------------------
def test_widget_js_is_cached_by_version_and_etag(wapp):
    c = wapp.test_client()
    r = c.get("/widget.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert "Content-Encoding" not in r.headers  # a client that did not ask for gzip
    assert "w.prefill = api" in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "public, max-age=300"
    assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    etag = r.headers["ETag"]
    assert c.get("/widget.js", headers={"If-None-Match": etag}).status_code == 304
    version = etag.strip('"')
    assert c.get(f"/widget.js?v={version}").headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert c.get("/widget.js?v=old").headers["Cache-Control"] == "public, max-age=300"
    packed = c.get("/widget.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == r.get_data()
    assert len(packed.get_data()) < 8 * 1024  # the budget


# -- CORS ------------------------------------------------------------------------
def test_preflight_from_a_listed_origin_allows_bearer_calls_without_credentials(wapp):
    c = wapp.test_client()
    r = c.options("/api/identify", headers={"Origin": HOST, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == HOST
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in r.headers
    assert "Origin" in r.headers["Vary"]


@pytest.mark.parametrize("origin", ["http://localhost:5602", "https://localhost:5601", "null", "http://evil.example"])
def test_unlisted_origins_get_no_cors_and_are_refused(wapp, origin):
    c = wapp.test_client()
    pre = c.options("/api/session", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403 and "Access-Control-Allow-Origin" not in pre.headers
    r = c.post("/api/session", headers={"Origin": origin})
    error(r, 403, "origin_not_allowed")
    assert count(wapp, "sessions") == 0


def test_answers_and_errors_to_a_listed_origin_carry_cors_headers(wapp):
    c = wapp.test_client()
    token = c.post("/api/session", headers={"Origin": HOST}).json["sessionToken"]
    ok = c.get("/api/me", headers={"Origin": HOST, "Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == HOST
    bad = c.get("/api/me", headers={"Origin": HOST, "Authorization": "Bearer nope"})
    error(bad, 401, "invalid_session")
    assert bad.headers["Access-Control-Allow-Origin"] == HOST  # the widget can read why
    admin = c.get("/api/admin/submissions", headers={"Origin": HOST})
    assert "Access-Control-Allow-Origin" not in admin.headers  # the admin API is for servers


def test_no_widget_origins_means_same_origin_only(make_app):
    app = make_app()
    c = app.test_client()
    error(c.post("/api/session", headers={"Origin": HOST}), 403, "origin_not_allowed")
    assert c.post("/api/session", headers={"Origin": "http://localhost"}).status_code == 201


def test_widget_origins_may_frame_the_panel(wapp):
    csp = wapp.test_client().get("/forms/support_ticket?embed=1").headers["Content-Security-Policy"]
    assert re.search(r"frame-ancestors 'self' http://localhost:5601(;|$)", csp)


# -- signed embed links ----------------------------------------------------------------
def test_an_embed_link_is_exchanged_once_for_a_verified_session(wapp):
    c = wapp.test_client()
    token = embed_token(plan="enterprise")
    r = c.post("/api/embed/session", json={"token": token})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["success"] is True and body["userId"] == "u1" and body["verified"] is True
    assert body["userMetadata"]["email"] == "ann@example.com" and "plan" in body["trustedKeys"]
    assert "Set-Cookie" not in r.headers  # a bearer session: no cookie, cross-site or not
    again = c.post("/api/embed/session", json={"token": token})
    assert "already used" in error(again, 401, "identity_unverified")["message"]
    page = c.get("/forms/support_ticket?embed=1", headers={"Authorization": f"Bearer {body['sessionToken']}"})
    html = page.get_data(as_text=True)
    assert 'value="ann@example.com"' in html and "Critical" in html


@pytest.mark.parametrize("make,why", [
    (lambda: embed_token(jti=False), "jti"),
    (lambda: embed_token(ttl=-30), "expired"),
    (lambda: embed_token(ttl=3600), "10 minutes"),
    (lambda: sign_identity_token("another-secret-0123456789abcdef0123456", "u1", {"jti": "j" * 16}, 60), "not valid"),
    (lambda: embed_token()[:-6] + "AAAAAA", "not valid"),  # a tampered signature
])
def test_bad_embed_tokens_are_401(wapp, make, why):
    r = wapp.test_client().post("/api/embed/session", json={"token": make()})
    assert why in error(r, 401, "identity_unverified")["message"]
    assert count(wapp, "sessions") == 0


def test_embed_links_need_identity_verification(make_app):
    app = make_app()
    error(app.test_client().post("/api/embed/session", json={"token": embed_token()}), 401, "identity_unverified")


def test_racing_exchanges_of_one_link_make_one_session(wapp):
    token = embed_token()
    results: list[int] = []

    def go():
        results.append(wapp.test_client().post("/api/embed/session", json={"token": token}).status_code)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [401] * 5
    assert count(wapp, "sessions") == 1


def test_used_tokens_are_forgotten_once_expired(wapp):
    c = wapp.test_client()
    assert c.post("/api/embed/session", json={"token": embed_token(ttl=1)}).status_code == 201
    assert count(wapp, "used_tokens") == 1
    time.sleep(2.1)
    assert c.post("/api/embed/session", json={"token": embed_token()}).status_code == 201
    assert count(wapp, "used_tokens") == 1  # the expired one went as the new one arrived


# -- HTML forms with a bearer session ----------------------------------------------------
def bearer_session(app, user_id="u1", **claims):
    c = app.test_client()
    token = c.post("/api/embed/session", json={"token": embed_token(user_id, **claims)}).json["sessionToken"]
    return {"Authorization": f"Bearer {token}"}


def form_fields(html):
    return dict(re.findall(r'name="(csrf_token|form_key)" value="([^"]+)"', html))


def test_a_bearer_post_needs_no_csrf_token_and_stores_for_the_verified_user(wapp):
    auth = bearer_session(wapp)
    c = wapp.test_client()
    html = c.get("/forms/support_ticket?embed=1", headers=auth).get_data(as_text=True)
    data = {"form_key": form_fields(html)["form_key"], "email": "forged@example.com", "subject": "S",
            "priority": "normal", "message": "M"}
    r = c.post("/forms/support_ticket?embed=1", data=data, headers=auth)
    assert r.status_code == 303 and "/thanks?ref=sub_" in r.headers["Location"]
    items = c.get("/api/submissions", headers=auth).json["items"]
    assert len(items) == 1 and items[0]["verified"] is True
    assert items[0]["values"]["email"] == "ann@example.com"  # locked: the server's value, not the post's


def test_a_cookie_post_still_needs_its_csrf_token(wapp):
    c = wapp.test_client()
    c.get("/forms/support_ticket")
    r = c.post("/forms/support_ticket", data={"email": "a@example.com", "subject": "S", "priority": "normal",
                                               "message": "M"})
    assert r.status_code == 400 and 'data-code="csrf_failed"' in r.get_data(as_text=True)


def test_the_panel_shell_waits_for_the_session_without_making_one(wapp):
    c = wapp.test_client()
    r = c.get("/forms/support_ticket?embed=1&widget=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Loading the form" in html and "embed.js" in html
    assert f'data-origins="{HOST}"' in html
    assert count(wapp, "sessions") == 0 and "Set-Cookie" not in r.headers
    assert c.get("/forms/nope?embed=1&widget=1").status_code == 404
    c.get("/forms/support_ticket")  # now the browser holds a cookie session, as on the widget's own site
    assert "Loading the form" in c.get("/forms/support_ticket?embed=1&widget=1").get_data(as_text=True)


# -- ad-hoc forms --------------------------------------------------------------------------
ADHOC = {"title": "Beta feedback", "lockKnown": True, "fields": [
    {"name": "email", "type": "email", "required": True},
    {"name": "plan", "type": "text"},
    {"name": "liked", "type": "textarea", "required": True, "label": "What did you like, {{userMetadata.name}}?"},
]}


def test_adhoc_forms_are_off_unless_enabled(make_app):
    c = make_app().test_client()
    error(c.post("/api/forms/resolve", json=ADHOC), 404, "adhoc_forms_off")
    error(c.post("/api/forms/adhoc/submissions", json={"schema": ADHOC, "values": {}}), 404, "adhoc_forms_off")


def test_an_adhoc_form_resolves_by_the_engine_rules(wapp):
    c = wapp.test_client()
    r = c.post("/api/identify", json={"userId": "u9", "email": "e@example.com", "name": "Eve",
                                      "metadata": {"plan": "pro", "password": "hunter2"}, **proof("u9")})
    assert r.status_code == 200
    form = c.post("/api/forms/resolve", json={**ADHOC, "fields": [*ADHOC["fields"], {"name": "password"}]}).json
    by = {f["name"]: f for f in form["fields"]}
    assert by["email"]["value"] == "e@example.com" and by["email"]["disabled"] is True
    assert by["plan"]["value"] == "pro" and by["liked"]["label"] == "What did you like, Eve?"
    assert by["password"].get("value") in (None, "") and "hunter2" not in json.dumps(form)


@pytest.mark.parametrize("schema,where", [
    ({"fields": []}, "fields"),
    ({"fields": [{"name": "a b"}]}, "field"),
    ({"fields": [{"name": "x", "type": "select"}]}, "options"),
    ({"fields": [{"name": "x", "pattern": "(a+)+["}]}, "pattern"),
    ({"fields": [{"name": f"f{i}"} for i in range(101)]}, "fields"),
    ({"nope": 1}, "nope"),
])
def test_a_bad_adhoc_schema_is_the_callers_400(wapp, schema, where):
    err = error(wapp.test_client().post("/api/forms/resolve", json=schema), 400, "invalid_schema")
    assert any(where in k or where in " ".join(v) for k, v in err["fields"].items()), err


def test_an_adhoc_submission_is_stored_with_its_schema_and_server_locked_values(wapp):
    auth = bearer_session(wapp, "u2")
    c = wapp.test_client()
    r = c.post("/api/forms/adhoc/submissions", headers={**auth, "Idempotency-Key": "k1"},
               json={"schema": ADHOC, "values": {"email": "forged@example.com", "liked": "All of it"}})
    assert r.status_code == 201, r.json
    assert r.json["adhoc"] is True and r.json["form"] == "adhoc"
    again = c.post("/api/forms/adhoc/submissions", headers={**auth, "Idempotency-Key": "k1"},
                   json={"schema": ADHOC, "values": {"email": "forged@example.com", "liked": "All of it"}})
    assert again.json["id"] == r.json["id"]
    (item,) = c.get("/api/submissions", headers=auth).json["items"]
    assert item["adhoc"] is True and item["schema"] == ADHOC
    assert item["values"]["email"] == "ann@example.com"  # locked: re-resolved on the server
    bad = c.post("/api/forms/adhoc/submissions", headers=auth, json={"schema": ADHOC, "values": {}})
    assert error(bad, 422, "validation_failed")["fields"]["liked"]
    assert count(wapp, "submissions") == 1


def test_the_panel_renders_and_posts_adhoc_forms_with_a_bearer_session(wapp):
    auth = bearer_session(wapp, "u3")
    c = wapp.test_client()
    anonymous = c.post("/widget/adhoc/render", data={"prefill_schema": json.dumps(ADHOC)})
    assert anonymous.status_code == 401 and 'data-code="invalid_session"' in anonymous.get_data(as_text=True)
    page = c.post("/widget/adhoc/render?embed=1", headers=auth, data={"prefill_schema": json.dumps(ADHOC)})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="ann@example.com"' in html and 'name="prefill_schema"' in html
    keys = form_fields(html)
    r = c.post("/widget/adhoc?embed=1", headers=auth, data={
        "prefill_schema": json.dumps(ADHOC), "form_key": keys["form_key"], "liked": "Yes"})
    assert r.status_code == 200 and 'data-submission="sub_' in r.get_data(as_text=True)
    invalid = c.post("/widget/adhoc?embed=1", headers=auth, data={"prefill_schema": json.dumps(ADHOC)})
    assert invalid.status_code == 422 and 'name="prefill_schema"' in invalid.get_data(as_text=True)
    broken = c.post("/widget/adhoc?embed=1", headers=auth, data={"prefill_schema": "[1"})
    assert broken.status_code == 400
    (item,) = c.get("/api/submissions", headers=auth).json["items"]
    assert item["adhoc"] is True and item["values"]["liked"] == "Yes"
