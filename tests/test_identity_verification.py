"""IDENTITY_VERIFICATION: ``required`` (the default with a key) refuses an
identify without a proof; ``optional`` takes it as a claim that pre-fills and
unlocks nothing, while a proven one is verified. A bad value stops start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app import ROOT
from tests.conftest import SECRET, proof
from web.identity.verify import sign_identity_token, user_hash

CLAIMED = {"userId": "u1", "email": "ann@example.com", "name": "Ann", "metadata": {"plan": "enterprise"}}


@pytest.fixture
def optional_app(make_app):
    return make_app(IDENTITY_SECRET=SECRET, IDENTITY_VERIFICATION="optional")


def _priorities(c) -> list[str]:
    form = c.get("/api/forms/support_ticket").json
    return [o["value"] for o in next(f for f in form["fields"] if f["name"] == "priority")["options"]]


def _field(c, name: str) -> dict:
    return next(f for f in c.get("/api/forms/support_ticket").json["fields"] if f["name"] == name)


# -- optional --------------------------------------------------------------------
def test_optional_takes_an_identify_without_proof_as_a_claim_that_unlocks_nothing(optional_app):
    c = optional_app.test_client()
    r = c.post("/api/identify", json=CLAIMED)
    assert r.status_code == 200
    assert r.json["userId"] == "u1" and r.json["verified"] is False and r.json["trustedKeys"] == []
    assert any("only claimed" in w for w in r.json["warnings"])
    assert r.json["userMetadata"]["plan"] == "enterprise"  # what it claims, shown back to it
    assert _priorities(c) == ["high", "normal", "low"]  # the claimed enterprise plan unlocks no priority
    assert _field(c, "email")["value"] == "ann@example.com"  # but it pre-fills
    assert c.get("/api/me").json["verified"] is False


def test_optional_with_a_valid_proof_is_verified_and_signed_claims_unlock(optional_app):
    c = optional_app.test_client()
    r = c.post("/api/identify", json={**CLAIMED, **proof("u1")})
    assert r.status_code == 200 and r.json["verified"] is True and r.json["warnings"] == []
    assert _priorities(c) == ["high", "normal", "low"]  # a userHash proves who, not the plan
    token = sign_identity_token(SECRET, "u2", {"plan": "enterprise"})
    r = c.post("/api/identify", json={"userId": "u2", "identityToken": token})
    assert r.json["verified"] is True and r.json["trustedKeys"] == ["plan"]
    assert _priorities(c) == ["critical", "high", "normal"]


@pytest.mark.parametrize("bad", [{"userHash": "0" * 64}, {"userHash": user_hash(SECRET, "u2")},
                                 {"identityToken": "not.a.token"}])
def test_optional_still_refuses_a_wrong_proof(optional_app, bad):
    """A proof that fails is a bug or an attack, never quietly a claim."""
    r = optional_app.test_client().post("/api/identify", json={**CLAIMED, **bad})
    assert r.status_code == 401 and r.json["error"]["code"] == "identity_unverified"


def test_optional_calls_after_a_claimed_identify_work_as_without_a_secret(optional_app):
    c = optional_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "userMetadata": {"email": "ann@example.com"}})
    r = c.post("/api/user", json={"userId": "u1", "name": "Ann B.", "metadata": {"seats": 3}})
    assert r.status_code == 200 and r.json["userMetadata"] == {"email": "ann@example.com", "name": "Ann B.",
                                                                "seats": 3}
    assert c.post("/api/user", json={"userId": "u2"}).json["error"]["code"] == "user_mismatch"
    r = c.post("/api/session/metadata", json={"metadata": {"page": "pricing"}})
    assert r.status_code == 200 and r.json["sessionMetadata"] == {"page": "pricing"}
    r = c.post("/api/update", json={"user": {"userId": "u3", "email": "c@example.com"},
                                    "session": {"metadata": {"cart": 2}}})
    assert r.status_code == 200 and r.json["userId"] == "u3" and r.json["verified"] is False
    r = c.post("/api/reset")
    assert r.status_code == 200 and r.json["userId"] is None


def test_optional_a_claim_never_sees_or_writes_the_verified_profile(optional_app):
    owner = optional_app.test_client()
    owner.post("/api/identify", json={"userId": "victim", "userMetadata": {"phone": "555-0100"}, **proof("victim")})
    stranger = optional_app.test_client()
    r = stranger.post("/api/identify", json={"userId": "victim", "userMetadata": {"phone": "555-9999"}})
    assert r.json["verified"] is False and r.json["userMetadata"] == {"phone": "555-9999"}
    assert "555-0100" not in stranger.get("/api/forms/support_ticket").get_data(as_text=True)
    assert owner.get("/api/me").json["userMetadata"] == {"phone": "555-0100"}


def test_optional_an_unproven_identify_of_the_verified_user_keeps_the_session_verified(optional_app):
    """A page moving to proofs call site by call site: a proof-less identify of the
    user the session already proved merges its claims (as updateUser would) and
    does not demote the session; another user without proof is only claimed."""
    c = optional_app.test_client()
    token = sign_identity_token(SECRET, "u1", {"plan": "enterprise"})
    c.post("/api/identify", json={"userId": "u1", "identityToken": token})
    r = c.post("/api/identify", json={"userId": "u1", "name": "Ann"})
    assert r.json["verified"] is True and r.json["userMetadata"]["name"] == "Ann"
    assert _priorities(c) == ["critical", "high", "normal"]
    r = c.post("/api/identify", json={"userId": "u2"})
    assert r.json["verified"] is False and r.json["userId"] == "u2" and r.json["trustedKeys"] == []
    assert _priorities(c) == ["high", "normal", "low"]


# -- required ------------------------------------------------------------------
@pytest.mark.parametrize("mode", [None, "required", " Required "])
def test_required_refuses_an_identify_without_proof_as_today(make_app, mode):
    app = make_app(IDENTITY_SECRET=SECRET, **({"IDENTITY_VERIFICATION": mode} if mode else {}))
    assert app.config["IDENTITY_VERIFICATION"] == "required"
    c = app.test_client()
    r = c.post("/api/identify", json=CLAIMED)
    assert r.status_code == 401 and r.json["error"]["code"] == "identity_unverified"
    assert "userHash or identityToken" in r.json["error"]["message"]
    r = c.post("/api/user", json={"userId": "u1", "name": "Ann"})
    assert r.status_code == 409 and r.json["error"]["code"] == "not_identified"
    assert c.post("/api/identify", json={"userId": "u1", **proof("u1")}).json["verified"] is True


def test_without_a_key_there_is_no_mode_and_identities_are_claims(make_app):
    app = make_app()
    assert app.config["IDENTITY_VERIFICATION"] is None
    r = app.test_client().post("/api/identify", json=CLAIMED)
    assert r.status_code == 200 and r.json["verified"] is False and r.json["warnings"] == []


# -- start-up ------------------------------------------------------------------
@pytest.mark.parametrize("value", ["sometimes", "off", "true", "requried", "optional,required"])
def test_a_bad_value_stops_start_up(make_app, value):
    with pytest.raises(RuntimeError, match=r"IDENTITY_VERIFICATION is .*: it must be 'required' or 'optional'"):
        make_app(IDENTITY_SECRET=SECRET, IDENTITY_VERIFICATION=value)


@pytest.mark.parametrize("value", ["required", "optional"])
def test_a_mode_without_a_key_stops_start_up(make_app, value):
    with pytest.raises(RuntimeError, match=f"IDENTITY_VERIFICATION={value} needs a key"):
        make_app(IDENTITY_VERIFICATION=value)


def test_a_bad_value_in_the_environment_stops_the_process_with_the_message(tmp_path):
    env = {**os.environ, "IDENTITY_SECRET": SECRET, "IDENTITY_VERIFICATION": "maybe",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", "SECRET_KEY": "x"}
    run = subprocess.run([sys.executable, "-c", "from app import create_app; create_app()"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "IDENTITY_VERIFICATION is 'maybe': it must be 'required' or 'optional'." in run.stderr
