"""The author tools: `prefill forms`, `prefill render --explain` (and the
`preview` alias), `prefill check` — what each field gets, and why."""

from __future__ import annotations

import json

import pytest

from app import create_app


def run(app, *args):
    return app.test_cli_runner().invoke(args=["prefill", *args])


def explained(app, form, user, tmp_path, *extra):
    path = tmp_path / "user.json"
    path.write_text(json.dumps(user))
    result = run(app, "render", form, "--user", str(path), "--explain", *extra)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    return out["form"], {e["field"]: e for e in out["explain"]}


def test_forms_lists_every_form_and_where_it_comes_from(app):
    result = run(app, "forms")
    assert result.exit_code == 0
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert "schema_providers.builtin.support_ticket" in lines["support_ticket"]
    assert "tests.providers_fixture.with_args" in lines["with_args"] and "args=OrderArgs" in lines["with_args"]
    assert "requires=verified" in lines["verified_only"]


def test_explain_says_why_for_every_field(app, tmp_path):
    user = {"userId": "u1",
            "userMetadata": {"Email": "a@b.co", "e_mail": "x@b.co", "emailAddress": "y@b.co", "name": "Ann",
                             "priority": "urgent", "company": {"nested": 1}, "authToken": "t0ken-1234"},
            "trusted": {"plan": "enterprise", "subject": "ignored: default wins"}}
    form, why = explained(app, "support_ticket", user, tmp_path, "--arg", "subject=Billing")
    assert {f["name"] for f in form["fields"]} == set(why)
    email = why["email"]
    assert not email["filled"] and "no key 'email' in userMetadata" in email["reasons"]
    kinds = [(w["kind"], w["message"]) for w in email["warnings"]]
    assert ("case_mismatch", "key 'Email' differs from the field name 'email' only by case or '_': rename it to "
                             "'email'") in kinds
    assert any(k == "case_mismatch" and "'e_mail'" in m for k, m in kinds)
    assert any(k == "similar_key" and "'emailAddress'" in m for k, m in kinds)
    assert why["name"]["filled"] and "matched key 'name', claimed by the browser" in why["name"]["reasons"][0]
    assert "value 'urgent' is not among the options ('critical', 'high', 'normal')" in why["priority"]["reasons"]
    assert "holds an object, which does not fit a text field" in why["company"]["reasons"][0]
    assert why["subject"]["source"] == "default" and "defaultValue wins" in why["subject"]["reasons"][0]


def test_explain_trusted_sensitive_template_and_locks(app, tmp_path):
    _, why = explained(app, "all_types", {"userId": "u1", "userMetadata": {"number": "many"},
                                          "trusted": {"email": "s@b.co", "select": 2}}, tmp_path)
    assert why["email"]["locked"] and why["email"]["source"] == "trusted"
    assert "trusted (signed or set by your backend)" in why["email"]["reasons"][0]
    assert "locked: lockKnown is on and the value is known" in why["email"]["reasons"]
    assert "holds a string, which does not fit a number field" in why["number"]["reasons"][0]
    assert "value 2 is not among the options ('1', '2')" not in why["select"]["reasons"]  # 2 fits "2"
    assert why["select"]["filled"]
    _, why = explained(app, "templated", {"userId": "u1", "userMetadata": {"name": "Ann"}}, tmp_path)
    assert why["greeting"]["source"] == "template" and "filled by a template wins" in why["greeting"]["reasons"][0]
    _, why = explained(app, "locked_required", {}, tmp_path)
    assert "locked: the provider set disabled" in why["account"]["reasons"]
    _, why = explained(app, "leaky", {"userId": "u1", "userMetadata": {"fine": "x", "authToken": "tok-9999"}},
                       tmp_path)
    assert "defaultValue wins" in why["fine"]["reasons"][0]


def test_explain_names_a_sensitive_key(make_app, tmp_path):
    app = make_app(SENSITIVE_KEYS_EXTRA="company")
    _, why = explained(app, "support_ticket", {"userId": "u1", "userMetadata": {"company": "Acme"}}, tmp_path)
    assert "key 'company' is sensitive: filtered out, never shown to a browser" in why["company"]["reasons"]


def test_preview_is_an_alias_with_explain_and_html(app):
    result = run(app, "preview", "support_ticket", "--user-id", "u1", "--metadata", '{"Email": "a@b.co"}',
                 "--explain")
    assert result.exit_code == 0 and "rename it to 'email'" in result.output
    html = run(app, "render", "support_ticket", "--format", "html")
    assert html.exit_code == 0 and "<form" in html.output
    bad = run(app, "render", "support_ticket", "--arg", "nokeyvalue")
    assert bad.exit_code != 0 and "key=value" in bad.output


def test_check_reports_errors_and_case_mismatches_and_fails_on_errors(app, sqlite_url, tmp_path):
    result = run(app, "check")
    assert result.exit_code == 1
    assert "ERROR broken [anonymous]: provider_failed" in result.output
    assert "ERROR bad_schema [anonymous]: invalid_schema" in result.output
    assert "skip  with_args: needs arguments (orderId)" in result.output
    clean = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                        "PREFILL_BUILTIN_FORMS": True})
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"userId": "u9", "userMetadata": {"EMAIL": "a@b.co"}}))
    result = run(clean, "check", "--user", str(user))
    assert result.exit_code == 0, result.output
    assert "WARN  support_ticket" in result.output and "'EMAIL'" in result.output
    assert "0 errors, " in result.output


@pytest.mark.parametrize("content", ["[1, 2]", "not json"])
def test_a_bad_user_file_is_a_clear_error(app, tmp_path, content):
    path = tmp_path / "u.json"
    path.write_text(content)
    result = run(app, "render", "support_ticket", "--user", str(path))
    assert result.exit_code != 0 and str(path) in result.output
