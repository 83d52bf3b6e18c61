"""Ad-hoc forms cannot observe a user's secret values (hardening round 3, #8).

A client-written schema is resolved against the identity with every sensitive
key removed, so there is nothing to blank: a schema listing every possible
value of a secret comes back exactly as sent, for a user with the secret and
one without, on all three ad-hoc surfaces."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import SECRET, proof
from web.identity.verify import sign_identity_token

PIN = "7395"
ORACLE = {"title": "Survey", "fields": [
    {"name": f"q{i}", "type": "select", "label": f"Question {i}",
     "options": [{"label": f"{i * 100 + j:04d}", "value": f"{i * 100 + j:04d}"} for j in range(100)]}
    for i in range(100)]}
ALL_VALUES = {f"{n:04d}" for n in range(10_000)}


@pytest.fixture
def aapp(make_app):
    return make_app(IDENTITY_SECRET=SECRET, ADHOC_FORMS=True)


def bearer(app, user_id, trusted, session_metadata=None):
    """A verified bearer session whose backend signed ``trusted``."""
    c = app.test_client()
    token = c.post("/api/session").json["sessionToken"]
    auth = {"Authorization": f"Bearer {token}"}
    r = c.post("/api/identify", headers=auth, json={
        "userId": user_id, "email": "ann@example.com", **proof(user_id),
        "identityToken": sign_identity_token(SECRET, user_id, trusted)})
    assert r.status_code == 200, r.json
    if session_metadata:
        assert c.post("/api/session/metadata", headers=auth, json={"metadata": session_metadata}).status_code == 200
    return auth


@pytest.fixture
def users(aapp):
    """The same user data, with and without secrets (trusted, nested, in lists, in the session)."""
    with_secret = bearer(aapp, "u_secret", {"plan": "pro", "supportPinSecret": PIN,
                                            "billing": {"cardToken": "4242", "history": [{"apiKey": "9999"}]}},
                         session_metadata={"authCode": "0042"})
    without = bearer(aapp, "u_plain", {"plan": "pro"})
    return with_secret, without


def option_values(form):
    return [o["value"] for f in form["fields"] for o in f["options"]]


def test_the_resolve_oracle_sees_every_option_unchanged(aapp, users):
    c = aapp.test_client()
    answers = [c.post("/api/forms/resolve", headers=auth, json=ORACLE) for auth in users]
    assert [r.status_code for r in answers] == [200, 200]
    with_secret, without = (r.json for r in answers)
    assert set(option_values(with_secret)) == ALL_VALUES  # PIN, 4242, 9999 and 0042 come back too
    assert [o["label"] for f in with_secret["fields"] for o in f["options"]] == option_values(with_secret)
    assert with_secret == without  # nothing differs between a user with and without the secret


def test_the_panel_render_oracle_sees_every_option_unchanged(aapp, users):
    c = aapp.test_client()
    pages = [c.post("/widget/adhoc/render?embed=1", headers=auth, data={"prefill_schema": json.dumps(ORACLE)})
             for auth in users]
    assert [p.status_code for p in pages] == [200, 200]
    texts = [re.sub(r'name="form_key" value="[^"]*"', "", p.get_data(as_text=True)) for p in pages]
    assert set(re.findall(r'<option value="(\d{4})"', texts[0])) == ALL_VALUES
    assert texts[0] == texts[1]


def test_templates_and_prefill_of_secrets_are_alike_for_both(aapp, users):
    schema = {"fields": [
        {"name": "supportPinSecret", "type": "text"},  # the exact key: never prefilled
        {"name": "hint", "type": "text", "label": "PIN {{userMetadata.supportPinSecret}}.",
         "defaultValue": "{{userMetadata.billing.cardToken}}"},
        {"name": "pin", "type": "text", "defaultValue": PIN, "pattern": f"^(?!{PIN}$).*"},
        {"name": "plan", "type": "text", "lockKnown": True}]}
    c = aapp.test_client()
    with_secret, without = (c.post("/api/forms/resolve", headers=auth, json=schema).json for auth in users)
    assert with_secret == without
    by = {f["name"]: f for f in with_secret["fields"]}
    assert by["supportPinSecret"]["value"] is None and by["hint"]["label"] == "PIN ."
    assert by["pin"]["value"] == PIN and by["pin"]["pattern"] == f"^(?!{PIN}$).*"  # the client's own text, kept
    assert by["plan"]["value"] == "pro" and by["plan"]["disabled"] is True and by["plan"]["source"] == "trusted"


@pytest.mark.parametrize("surface", ["json", "panel"])
def test_submissions_cannot_probe_the_secret_either(aapp, users, surface):
    c = aapp.test_client()
    schema = {"fields": ORACLE["fields"][73:74]}  # 7300-7399: the PIN's field
    statuses = []
    for auth in users:
        if surface == "json":
            r = c.post("/api/forms/adhoc/submissions", headers=auth, json={"schema": schema, "values": {"q73": PIN}})
            statuses.append(r.status_code)
            assert r.json["values"] == {"q73": PIN}
        else:
            page = c.post("/widget/adhoc/render?embed=1", headers=auth, data={"prefill_schema": json.dumps(schema)})
            key = re.search(r'name="form_key" value="([^"]*)"', page.get_data(as_text=True)).group(1)
            r = c.post("/widget/adhoc?embed=1", headers=auth,
                       data={"prefill_schema": json.dumps(schema), "form_key": key, "q73": PIN})
            statuses.append(r.status_code)
    assert statuses == ([201, 201] if surface == "json" else [200, 200])
