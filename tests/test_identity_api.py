"""Identity over HTTP: sessions, identify/update/reset, verification and trust."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import text

from tests.conftest import SECRET, proof
from web.identity.verify import sign_identity_token, user_hash


def test_session_endpoint_gives_token_and_visitor_id(client):
    r = client.post("/api/session")
    assert r.status_code == 201
    assert r.json["visitorId"].startswith("v_") and len(r.json["sessionToken"]) >= 40
    issued = r.json["visitorId"]
    r2 = client.post("/api/session", json={"visitorId": issued})  # one this Prefill issued comes back
    assert r2.status_code == 201 and r2.json["visitorId"] == issued and r2.json["warnings"] == []
    r3 = client.post("/api/session", json={"visitorId": "v_1700000000000_abc123xyz"})  # one it did not: replaced
    assert r3.status_code == 201 and r3.json["visitorId"] not in ("v_1700000000000_abc123xyz", issued)
    assert "not issued by this Prefill" in r3.json["warnings"][0]


@pytest.mark.parametrize("visitor", ["v_1_abc", "visitor", "v_1700000000000_ABCDEFGHI", 5,
                                     "v_1700000000000_" + "a" * 48, "v_1700000000000_abc123xyz\n",
                                     "v_\u0661\u0667\u0660\u0660000000000_abc123xyz"])
def test_bad_visitor_id_is_refused(client, visitor):
    r = client.post("/api/session", json={"visitorId": visitor})
    assert r.status_code == 400 and r.json["error"]["code"] == "validation_failed"
    assert "visitorId" in r.json["error"]["fields"]


def test_bearer_token_identifies_session_and_unknown_token_is_401(app):
    c = app.test_client()
    token = c.post("/api/session").json["sessionToken"]
    bare = app.test_client()  # no cookies: a third-party iframe
    h = {"Authorization": f"Bearer {token}"}
    r = bare.post("/api/identify", json={"userId": "u1", "email": "a@b.co"}, headers=h)
    assert r.status_code == 200 and r.json["userId"] == "u1"
    assert bare.get("/api/me", headers=h).json["userMetadata"] == {"email": "a@b.co"}
    r = bare.get("/api/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_session"


def test_expired_session_is_dead(make_app):
    app = make_app(SESSION_TTL_DAYS=30)
    c = app.test_client()
    token = c.post("/api/session").json["sessionToken"]
    with app.extensions["prefill"].db.begin() as conn:
        conn.execute(text("UPDATE sessions SET last_seen = 0"))
    r = c.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_identify_both_sdk_shapes_merge_into_user_metadata(client):
    r = client.post("/api/identify", json={
        "userId": "u1", "email": "a@b.co", "name": "Ann",
        "metadata": {"plan": "pro"}, "userMetadata": {"company": "Acme", "plan": "free"}})
    assert r.status_code == 200
    body = r.json
    assert body["success"] is True and body["warnings"] == [] and body["verified"] is False
    assert body["userMetadata"] == {"company": "Acme", "plan": "pro", "email": "a@b.co", "name": "Ann"}
    assert set(body) >= {"visitorId", "userId", "verified", "userMetadata", "trustedKeys", "sessionMetadata"}


def test_identify_warnings(client):
    r = client.post("/api/identify", json={"userId": "ann@example.com", "userMetadata": {"createdAt": "yesterday"}})
    assert r.status_code == 200
    assert len(r.json["warnings"]) == 2
    assert any("email" in w for w in r.json["warnings"]) and any("createdAt" in w for w in r.json["warnings"])
    r = client.post("/api/identify", json={"userId": "u", "userMetadata": {"createdAt": "2024-05-01T10:00:00Z"}})
    assert r.json["warnings"] == []


@pytest.mark.parametrize("body,field", [
    ({}, "userId"), ({"userId": ""}, "userId"), ({"userId": "x" * 256}, "userId"), ({"userId": 5}, "userId"),
    ({"userId": "u", "userMetadata": "str"}, "userMetadata"), ({"userId": "u", "email": 5}, "email"),
    ({"userId": "u", "userMetadata": {"big": "x" * 17000}}, "userMetadata"), ({"userId": "u", "zzz": 1}, "zzz"),
])
def test_identify_bad_input_is_400_naming_field(client, body, field):
    r = client.post("/api/identify", json=body)
    assert r.status_code == 400
    assert r.json["error"]["code"] == "validation_failed" and field in r.json["error"]["fields"]


@pytest.mark.parametrize("data,code", [(b"{not json", "invalid_json"), (b"", "invalid_json"),
                                       (b"[1,2]", "validation_failed"), (b"\xff\xfe", "invalid_json")])
def test_unparseable_bodies(client, data, code):
    r = client.post("/api/identify", data=data, content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == code


def test_oversize_body_is_413_before_parsing(make_app):
    c = make_app(MAX_BODY_BYTES=1000).test_client()
    r = c.post("/api/identify", data=b"{" + b" " * 2000, content_type="application/json")
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"


def test_update_user_merges_top_level_and_replaces_nested(client):
    assert client.post("/api/user", json={"userId": "u1"}).json["error"]["code"] == "not_identified"
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {"a": 1, "nest": {"x": 1, "y": 2}}})
    r = client.post("/api/user", json={"userId": "u1", "name": "N", "metadata": {"b": 2, "nest": {"z": 3}}})
    assert r.status_code == 200
    assert r.json["userMetadata"] == {"a": 1, "b": 2, "name": "N", "nest": {"z": 3}}
    r = client.post("/api/user", json={"userId": "other"})
    assert r.status_code == 409 and r.json["error"]["code"] == "user_mismatch"


def test_update_session_metadata_and_reset(client):
    client.post("/api/identify", json={"userId": "u1", "email": "a@b.co"})
    r = client.post("/api/session/metadata", json={"metadata": {"page": "/x", "n": 1}})
    r = client.post("/api/session/metadata", json={"metadata": {"n": 2}})
    assert r.json["sessionMetadata"] == {"page": "/x", "n": 2}
    visitor = r.json["visitorId"]
    r = client.post("/api/reset")
    assert r.status_code == 200 and r.json["success"] is True
    assert (r.json["userId"], r.json["userMetadata"], r.json["sessionMetadata"]) == (None, {}, {})
    assert r.json["visitorId"] == visitor


def test_deprecated_update(client):
    r = client.post("/api/update", json={})
    assert r.status_code == 400
    both = {"user": {"userId": "u1", "email": "a@b.co"}, "session": {"metadata": {"p": 1}}}
    r = client.post("/api/update", json=both)
    assert r.status_code == 200 and r.headers["Deprecation"] == "true"
    assert r.json["userId"] == "u1" and r.json["sessionMetadata"] == {"p": 1}
    r = client.post("/api/update", json={"user": {"userId": "u1", "metadata": {"plan": "pro"}}})
    assert r.json["userMetadata"] == {"email": "a@b.co", "plan": "pro"}  # same user: merged
    r = client.post("/api/update", json={"user": {"userId": "u2", "metadata": {"x": 1}}})
    assert r.json["userId"] == "u2" and r.json["userMetadata"] == {"x": 1}  # another user: identified anew


def test_me_is_sanitized_everywhere(client):
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {
        "apiKey": "AK-1234567", "nested": {"refresh_token": "RT-1234567", "ok": 1}, "Password": "PW-1234567"}})
    r = client.post("/api/session/metadata", json={"metadata": {"csrfSecret": "CS-1234567", "page": 1}})
    for resp in (r, client.get("/api/me")):
        text_ = resp.get_data(as_text=True)
        for secret in ("AK-1234567", "RT-1234567", "PW-1234567", "CS-1234567"):
            assert secret not in text_
    assert client.get("/api/me").json["userMetadata"] == {"nested": {"ok": 1}}


# -- verification --------------------------------------------------------------
def test_identify_without_proof_when_secret_set_is_401_and_changes_nothing(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", **proof("u1")})
    before = c.get("/api/me").json
    for bad in ({}, {"userHash": "0" * 64}, {"userHash": user_hash(SECRET, "u2")},
                {"userHash": user_hash("wrong", "mallory")}):
        r = c.post("/api/identify", json={"userId": "mallory", "userMetadata": {"x": 1}, **bad})
        assert r.status_code == 401 and r.json["error"]["code"] == "identity_unverified"
    assert c.get("/api/me").json == before


def test_failed_identify_creates_no_session(verified_app):
    c = verified_app.test_client()
    r = c.post("/api/identify", json={"userId": "u1", "userHash": "bad"})
    assert r.status_code == 401 and "Set-Cookie" not in r.headers
    with verified_app.extensions["prefill"].db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar() == 0


def test_user_hash_verifies(verified_app):
    c = verified_app.test_client()
    r = c.post("/api/identify", json={"userId": "u1", "email": "a@b.co", **proof("u1")})
    assert r.status_code == 200 and r.json["verified"] is True and r.json["trustedKeys"] == []


def _token(**overrides):
    now = int(time.time())
    claims = {"sub": "u1", "exp": now + 600, "plan": "enterprise", **overrides}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize("token", [
    jwt.encode({"sub": "u1", "exp": int(time.time()) + 600}, "another-secret-0123456789abcdef01234567",
               algorithm="HS256"),
    _token(exp=int(time.time()) - 10),
    _token(sub="u2"),
    _token(nbf=int(time.time()) + 3600),
    jwt.encode({"sub": "u1", "plan": "enterprise"}, SECRET, algorithm="HS256"),  # no exp
    jwt.encode({"sub": "u1", "exp": int(time.time()) + 600, "plan": "enterprise"}, SECRET, algorithm="HS512"),
    jwt.encode({"sub": "u1", "exp": int(time.time()) + 600}, None, algorithm="none"),
    "not.a.token",
])
def test_bad_identity_tokens_are_refused(verified_app, token):
    c = verified_app.test_client()
    r = c.post("/api/identify", json={"userId": "u1", "identityToken": token})
    assert r.status_code == 401 and r.json["error"]["code"] == "identity_unverified"


def test_alg_none_forged_by_hand_is_refused(verified_app):
    import base64
    import json

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    forged = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': 'u1', 'exp': 9999999999, 'plan': 'enterprise'})}."
    r = verified_app.test_client().post("/api/identify", json={"userId": "u1", "identityToken": forged})
    assert r.status_code == 401


def test_audience_checked_when_configured(make_app):
    app = make_app(IDENTITY_SECRET=SECRET, IDENTITY_TOKEN_AUDIENCE="prefill")
    c = app.test_client()
    assert c.post("/api/identify", json={"userId": "u1", "identityToken": _token()}).status_code == 401
    assert c.post("/api/identify", json={"userId": "u1", "identityToken": _token(aud="other")}).status_code == 401
    r = c.post("/api/identify", json={"userId": "u1", "identityToken": _token(aud="prefill")})
    assert r.status_code == 200 and r.json["trustedKeys"] == ["plan"]


def test_identity_token_ignored_with_warning_without_secret(client):
    r = client.post("/api/identify", json={"userId": "u1", "identityToken": _token()})
    assert r.status_code == 200 and r.json["verified"] is False and r.json["trustedKeys"] == []
    assert any("identityToken" in w for w in r.json["warnings"])


# -- trust -------------------------------------------------------------------
def _priorities(c):
    return [o["value"] for o in next(f for f in c.get("/api/forms/support_ticket").json["fields"]
                                     if f["name"] == "priority")["options"]]


def test_claimed_plan_unlocks_nothing(verified_app, client):
    # unverified mode: a browser claiming enterprise
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {"plan": "enterprise"}})
    assert _priorities(client) == ["high", "normal", "low"]
    # verified who, but the plan is still only claimed
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "userMetadata": {"plan": "enterprise"}, **proof("u1")})
    assert _priorities(c) == ["high", "normal", "low"]


def test_signed_plan_unlocks_and_wins_over_claims(verified_app):
    c = verified_app.test_client()
    r = c.post("/api/identify", json={"userId": "u1", "userMetadata": {"plan": "free"},
                                      "identityToken": sign_identity_token(SECRET, "u1", {"plan": "enterprise"})})
    assert r.json["trustedKeys"] == ["plan"] and r.json["userMetadata"]["plan"] == "enterprise"
    assert _priorities(c) == ["critical", "high", "normal"]
    # a later claim cannot override the trusted value
    c.post("/api/user", json={"userId": "u1", "metadata": {"plan": "free"}})
    assert _priorities(c) == ["critical", "high", "normal"]


def test_unverified_session_cannot_see_stored_profile(make_app):
    app = make_app(IDENTITY_SECRET=SECRET)
    owner = app.test_client()
    owner.post("/api/identify", json={"userId": "victim", "userMetadata": {"phone": "555-0100"}, **proof("victim")})
    # the same database served without verification (or a session that never proved who it is)
    open_app = make_app()
    stranger = open_app.test_client()
    r = stranger.post("/api/identify", json={"userId": "victim"})
    assert r.json["verified"] is False and r.json["userMetadata"] == {}
    assert "555-0100" not in stranger.get("/api/forms/support_ticket").get_data(as_text=True)
    assert "555-0100" not in stranger.get("/api/me").get_data(as_text=True)


def test_verified_profile_follows_user_across_devices(verified_app):
    a, b = verified_app.test_client(), verified_app.test_client()
    a.post("/api/identify", json={"userId": "u1", "email": "a@b.co", **proof("u1")})
    r = b.post("/api/identify", json={"userId": "u1", **proof("u1")})
    assert r.json["userMetadata"] == {"email": "a@b.co"}


@pytest.mark.parametrize("header,token", [
    ("prefill_session=abc", "abc"), ("a=1; prefill_session=abc; b=2", "abc"), ("a=1;prefill_session=abc", "abc"),
    ("prefill_session=", None), ("xprefill_session=abc", None), ("a=1", None), ("", None),
])
def test_session_cookie_is_read_exactly(header, token):
    from web.identity.session import _cookie

    assert _cookie(header) == token


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_identity_read_survives_a_dropped_connection(app):
    """The read pool has no pre-ping; a connection the server killed is retried once."""
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "a@b.co"})
    assert c.get("/api/me").json["userId"] == "u1"  # the read pool now holds a connection
    with app.extensions["prefill"].db.begin() as conn:
        killed = conn.execute(text(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'")).scalar()
    assert killed >= 1
    r = c.get("/api/me")
    assert r.status_code == 200 and r.json["userId"] == "u1"
