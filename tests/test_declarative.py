"""Declared forms (PREFILL_CONFIG, YAML or JSON): served beside Python
providers, variants chosen by trusted attributes unless `claimed.` is written,
and a broken config stops start-up naming the file and the form."""

from __future__ import annotations

import json

import pytest

from app import create_app

from .conftest import proof
from .test_crash import ROOT

EXAMPLE = str(ROOT / "docs" / "examples" / "forms.yaml")


def options(client, form="contact_support"):
    body = client.get(f"/api/forms/{form}").json
    return {f["name"]: [o["value"] for o in f["options"] or []] for f in body["fields"]}


def test_the_documented_example_expresses_support_ticket_per_plan(make_app):
    app = make_app(PREFILL_CONFIG=EXAMPLE, IDENTITY_SECRET="test-identity-secret-0123456789abcdef0123")
    names = [f["name"] for f in app.test_client().get("/api/forms").json["forms"]]
    assert "contact_support" in names and "support_ticket" in names  # beside the Python providers
    anonymous = app.test_client()
    assert options(anonymous)["priority"] == ["high", "normal", "low"]
    signed = app.test_client()
    signed.post("/api/identify", json={"userId": "e1", "email": "e@x.co", **proof("e1", plan="enterprise")})
    got = options(signed)
    assert got["priority"] == ["critical", "high", "normal"] and "accountManager" in got


def test_a_claimed_plan_never_selects_the_trusted_variant(make_app):
    app = make_app(PREFILL_CONFIG=EXAMPLE)  # unverified mode: everything the browser says is a claim
    c = app.test_client()
    c.post("/api/identify", json={"userId": "c1", "metadata": {"plan": "enterprise", "language": "de"}})
    form = c.get("/api/forms/contact_support").json
    fields = {f["name"]: f for f in form["fields"]}
    assert [o["value"] for o in fields["priority"]["options"]] == ["high", "normal", "low"]
    assert "accountManager" not in fields
    assert fields["message"]["label"] == "Nachricht"  # an explicit claimed. condition may use the claim


def test_json_config_and_the_forms_command(make_app, tmp_path):
    path = tmp_path / "forms.json"
    path.write_text(json.dumps({"forms": {"feedback": {"fields": [{"name": "text", "type": "textarea"}]}}}))
    app = make_app(PREFILL_CONFIG=str(path))
    assert app.test_client().get("/api/forms/feedback").status_code == 200
    listing = app.test_cli_runner().invoke(args=["prefill", "forms"]).output
    assert f"{path}:forms.feedback" in listing
    check = app.test_cli_runner().invoke(args=["prefill", "check"]).output
    assert "checked" in check


def test_check_resolves_each_declared_plan(sqlite_url):
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                      "PREFILL_CONFIG": EXAMPLE})
    result = app.test_cli_runner().invoke(args=["prefill", "check"])
    assert result.exit_code == 0, result.output
    assert "as 5 identities" in result.output  # anonymous, claimed, verified, plan=enterprise, language=de


@pytest.mark.parametrize(("content", "message"), [
    ("forms: {x: {fields: [{name: a}], colour: red}}", "colour"),
    ("forms: {x: {fields: [{name: a, type: select}]}}", "options"),
    ("forms: {x: {fields: [{name: a}], variants: [{when: {plan: pro}, replace: {a: {type: radio}}}]}}", "options"),
    ("forms: {x: {fields: [{name: a}], variants: [{when: {session.plan: pro}}]}}", "trusted.name"),
    ("forms: {x: {http: {url: 'https://example.com/f'}, allowHosts: [api.example.com]}}", "not in allowHosts"),
    ("forms: {x: {http: {url: 'ftp://example.com/f'}, allowHosts: [example.com]}}", "http"),
    ("forms: {x: {http: {url: 'https://example.com/f', verb: PUT}, allowHosts: [example.com]}}", "verb"),
    ("forms: [unclosed", "PREFILL_CONFIG"),
])
def test_a_broken_config_stops_start_up_naming_file_and_form(sqlite_url, tmp_path, content, message):
    path = tmp_path / "forms.yaml"
    path.write_text(content)
    with pytest.raises(RuntimeError, match=message) as exc:
        create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False, "PREFILL_CONFIG": str(path)})
    assert str(path) in str(exc.value)


def test_a_missing_config_file_is_named(sqlite_url, tmp_path):
    with pytest.raises(RuntimeError, match=r"nope\.yaml"):
        create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                    "PREFILL_CONFIG": str(tmp_path / "nope.yaml")})


def test_the_providers_guide_yaml_example_loads_as_printed(make_app, tmp_path):
    import re

    guide = (ROOT / "docs" / "providers.md").read_text()
    path = tmp_path / "guide.yaml"
    path.write_text(re.search(r"```yaml\n(.*?)```", guide, re.S).group(1))
    app = make_app(PREFILL_CONFIG=str(path), IDENTITY_SECRET="test-identity-secret-0123456789abcdef0123")
    c = app.test_client()
    c.post("/api/identify", json={"userId": "e1", **proof("e1", plan="enterprise")})
    assert options(c)["priority"] == ["critical", "high", "normal"]
    assert options(app.test_client())["priority"] == ["high", "normal", "low"]
