"""A token that names itself (``jti``) is spent at its first use, wherever
Prefill accepts it: a signed embed link found later in a mail archive or a
browser's history opens nothing, neither at ``/api/embed/session`` nor as an
``identityToken`` at ``/api/identify`` or ``/api/update`` (hardening round 3, #4)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import SECRET
from web.identity.verify import sign_identity_token


def embed_token(user_id: str = "u1", **claims):
    """What an embed link carries (docs/widget.md): short-lived, with a jti."""
    return sign_identity_token(SECRET, user_id, {"jti": uuid.uuid4().hex, "plan": "enterprise", **claims}, ttl_s=300)


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["error"]["code"] == code
    return r.json["error"]


@pytest.fixture
def vapp(make_app):
    return make_app(IDENTITY_SECRET=SECRET)


def exchange(app, token):
    return app.test_client().post("/api/embed/session", json={"token": token})


def identify(app, token, user_id="u1"):
    return app.test_client().post("/api/identify", json={"userId": user_id, "identityToken": token})


def update(app, token, user_id="u1"):
    return app.test_client().post("/api/update", json={"user": {"userId": user_id, "identityToken": token}})


USES = {"embed": exchange, "identify": identify, "update": update}


def accepted(r):
    assert r.status_code in (200, 201), (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["verified"] is True and r.json["trustedKeys"] == ["plan"]


@pytest.mark.parametrize("first", USES)
@pytest.mark.parametrize("second", USES)
def test_a_token_with_a_jti_works_once_across_every_endpoint(vapp, first, second):
    token = embed_token()
    accepted(USES[first](vapp, token))
    err = error(USES[second](vapp, token), 401, "identity_unverified")
    assert "already used" in err["message"]


def test_a_leaked_embed_link_gives_no_verified_session_at_identify(vapp):
    token = embed_token()
    assert exchange(vapp, token).status_code == 201  # the user opens the link
    thief = vapp.test_client()
    for _ in range(3):
        error(thief.post("/api/identify", json={"userId": "u1", "identityToken": token}), 401, "identity_unverified")
    me = thief.get("/api/me").json
    assert me["userId"] is None and me["verified"] is False


def test_a_refused_identify_does_not_spend_the_token(vapp):
    token = embed_token()
    error(identify(vapp, token, user_id="someone-else"), 401, "identity_unverified")  # another user's
    stale = vapp.test_client().post("/api/identify", json={"userId": "u1", "identityToken": token},
                                    headers={"Authorization": "Bearer no-such-session-token"})
    error(stale, 401, "invalid_session")  # widget.js retries this with a new session: it must still work
    accepted(identify(vapp, token))


def test_tokens_without_a_jti_stay_reusable_for_their_lifetime(vapp):
    token = sign_identity_token(SECRET, "u1", {"plan": "enterprise"})  # a page's identityToken
    for _ in range(3):
        accepted(identify(vapp, token))
    error(exchange(vapp, token), 401, "identity_unverified")  # never an embed link: it has no jti


@pytest.mark.parametrize("jti", ["short", 12345678, "j" * 256])
def test_a_jti_that_cannot_name_a_token_once_is_refused(vapp, jti):
    token = sign_identity_token(SECRET, "u1", {"jti": jti})
    error(identify(vapp, token), 401, "identity_unverified")
