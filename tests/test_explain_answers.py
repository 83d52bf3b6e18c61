"""`prefill render --explain --answers`: for given answers, each field shown or
not and why (the rule and the values it saw), known or left for later,
required or not and why, options hidden, and what a submit would keep."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap

import pytest

from tests.conftest import TEST_PROVIDERS
from tests.test_crash import ROOT

GUIDE = (ROOT / "docs" / "providers.md").read_text()

MODULES = [TEST_PROVIDERS, "tests.providers_conditional"]
PAT = {"userId": "u1", "userMetadata": {"email": "pat@example.com", "authToken": "tok-98765"},
       "trusted": {"plan": "pro"}}


@pytest.fixture
def app(make_app):
    return make_app(PREFILL_PROVIDER_MODULES=MODULES)


def render(app, tmp_path, form, user, answers, *extra):
    (tmp_path / "user.json").write_text(json.dumps(user))
    args = ["prefill", "render", form, "--user", str(tmp_path / "user.json"), *extra]
    if answers is not None:
        (tmp_path / "answers.json").write_text(json.dumps(answers))
        args += ["--answers", str(tmp_path / "answers.json")]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


def explained(app, tmp_path, form, user, answers):
    out = json.loads(render(app, tmp_path, form, user, answers, "--explain"))
    return {e["field"]: e for e in out["explain"]}, out.get("submit")


def test_a_rule_says_what_it_read_and_hidden_fields_are_neither_required_nor_kept(app, tmp_path):
    why, submit = explained(app, tmp_path, "triage", PAT, {
        "category": "bug", "invoice": "INV-1", "products": ["crash"], "tags": ["question"], "steps": "Click"})
    invoice = why["invoice"]
    assert not invoice["shown"] and not invoice["required"]
    assert invoice["visibleIf"] == {"rule": {"==": [{"var": "category"}, "billing"]}, "saw": {"category": "bug"},
                                    "result": False}
    assert invoice["why"] == ('hidden: visibleIf {"==": [{"var": "category"}, "billing"]} is false '
                              '(it saw category = "bug")')
    assert invoice["requiredWhy"] == "not required: a hidden field never is"
    assert "the answer given is dropped: a hidden field keeps nothing" in invoice["notes"]
    steps = why["steps"]
    assert steps["shown"] and steps["required"] and steps["requiredIf"]["saw"] == {"products": ["crash"]}
    assert steps["requiredWhy"] == ('required: requiredIf {"in": ["crash", {"var": "products"}]} is true '
                                    '(it saw products = ["crash"])')
    assert why["email"]["requiredWhy"] == "required: required is true"
    assert why["tags"]["requiredWhy"] == "required: minItems is 1"
    assert why["amount"]["visibleIf"]["saw"] == {"refund": None}  # refund is hidden itself: null for the others
    assert why["email"]["reasons"] == ["matched key 'email', claimed by the browser",
                                       "locked: lockKnown is on and the value is known"]  # the prefill half stays
    assert submit == {"ok": True, "errors": None, "dropped": ["invoice"], "kept": {
        "email": "pat@example.com", "plan": "pro", "category": "bug", "steps": "Click", "products": ["crash"],
        "tags": ["question"]}}


def test_required_if_false_and_the_errors_a_submit_would_get(app, tmp_path):
    why, submit = explained(app, tmp_path, "triage", PAT, {"category": "bug", "products": ["app"], "tags": []})
    assert why["steps"]["shown"] and not why["steps"]["required"]
    assert why["steps"]["requiredWhy"].startswith('not required: requiredIf {"in": ["crash", {"var": "products"}]} '
                                                  'is false (it saw products = ["app"])')
    assert submit["ok"] is False and submit["kept"] is None
    assert submit["errors"] == {"tags": ["This field is required."]}


def test_a_hidden_option_and_a_locked_value_the_answers_cannot_change(app, tmp_path):
    why, submit = explained(app, tmp_path, "triage", PAT, {"plan": "enterprise", "category": "outage",
                                                           "tags": ["urgent"]})
    hidden = why["category"]["hiddenOptions"]
    assert list(hidden) == ["outage"] and hidden["outage"]["saw"] == {"plan": "pro"}
    assert why["plan"]["notes"] == ["the answer given is ignored: the field is locked, the server's value counts"]
    assert submit["errors"] == {"category": ["Not a valid choice."]}
    why, _ = explained(app, tmp_path, "triage", {**PAT, "trusted": {"plan": "enterprise"}}, {})
    assert why["category"]["hiddenOptions"] == {}


def test_known_fields_say_they_are_not_asked_and_why(app, tmp_path):
    why, submit = explained(app, tmp_path, "triage", PAT, {"category": "billing", "invoice": "I-9",
                                                           "tags": ["urgent"]})
    plan = why["plan"]
    assert not plan["shown"] and plan["known"] == "hideKnown" and plan["source"] == "trusted"
    assert plan["why"] == ('not asked: hideKnown is on and trusted metadata knows it; "pro" (trusted) counts for '
                           'the rules and is kept at submit')
    assert "not asked: hideKnown is on and trusted metadata knows it" in plan["reasons"]
    assert submit["kept"]["plan"] == "pro"
    claimed = {"userId": "u1", "userMetadata": {"plan": "pro"}}  # a claim is not knowledge: asked, pre-filled
    why, _ = explained(app, tmp_path, "triage", claimed, {})
    assert why["plan"]["shown"] and why["plan"]["known"] is None and why["plan"]["filled"]


def test_progressive_questions_known_asked_and_left_for_later(app, tmp_path):
    user = {"userId": "u1", "userMetadata": {"company": "Acme"}}
    why, submit = explained(app, tmp_path, "profile", user, {"message": "Hi", "role": "CTO", "teamSize": "5"})
    assert why["company"]["known"] == "progressive" and not why["company"]["shown"]
    assert why["company"]["why"].startswith('not asked: a profile question already answered; "Acme" (claimed)')
    assert why["role"]["shown"] and why["teamSize"]["shown"]
    assert submit["kept"] == {"message": "Hi", "company": "Acme", "role": "CTO", "teamSize": 5}
    why, submit = explained(app, tmp_path, "profile", {}, {"message": "Hi", "teamSize": 5})
    later = why["teamSize"]
    assert later["later"] and not later["shown"] and not later["filled"]
    assert later["why"] == ("not in this form: a profile question left for a later form (progressive asks at "
                            "most 2 of company, role, teamSize at a time)")
    assert submit["errors"] == {"teamSize": ["Unknown field."]}  # as the server says to a client that sends it


def test_explain_without_answers_decides_on_none_and_says_nothing_of_a_submit(app, tmp_path):
    why, submit = explained(app, tmp_path, "profile", {}, None)  # a later field no longer breaks --explain
    assert submit is None and why["teamSize"]["later"]
    why, _ = explained(app, tmp_path, "triage", {}, None)
    assert not why["invoice"]["shown"] and why["invoice"]["visibleIf"]["saw"] == {"category": None}


def test_text_format_prints_the_explanation_in_words(app, tmp_path):
    out = render(app, tmp_path, "triage", PAT, {"category": "billing", "invoice": "INV-1", "tags": ["urgent"],
                                                "refund": True}, "--format", "text")
    lines = out.splitlines()
    assert lines[0] == "email: shown: it has no visibleIf"
    assert ('invoice: shown: visibleIf {"==": [{"var": "category"}, "billing"]} is true (it saw category = '
            '"billing")') in lines
    assert ('  option \'outage\' hidden: visibleIf {"==": [{"var": "plan"}, "enterprise"]} is false '
            '(it saw plan = "pro")') in lines
    assert '  required: requiredIf {"var": "refund"} is true (it saw refund = true)' in lines
    assert "  prefill: empty — no key 'invoice' in userMetadata" in lines
    assert lines[lines.index("a submit would fail:") + 1] == "  amount: This field is required."
    out = render(app, tmp_path, "triage", PAT, {"category": "billing", "invoice": "INV-1", "tags": ["urgent"]},
                 "--format", "text")
    kept = out[out.index("a submit would keep:"):].splitlines()
    assert kept[1:5] == ['  email = "pat@example.com"', '  plan = "pro"', '  category = "billing"',
                         '  invoice = "INV-1"']


def test_no_sensitive_value_in_the_explanation(app, tmp_path):
    out = render(app, tmp_path, "triage", PAT, {"category": "billing", "invoice": "tok-98765", "tags": ["urgent"]},
                 "--explain")
    assert "tok-98765" not in out and '"invoice": "[redacted]"' in out


def test_preview_takes_answers_and_bad_answers_are_a_clear_error(app, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"category": "bug"}))
    result = app.test_cli_runner().invoke(args=["prefill", "preview", "triage", "--answers", str(tmp_path / "a.json")])
    assert result.exit_code == 0 and json.loads(result.output)["submit"]["ok"] is False
    (tmp_path / "bad.json").write_text("[1]")
    result = app.test_cli_runner().invoke(args=["prefill", "render", "triage", "--answers", str(tmp_path / "bad.json")])
    assert result.exit_code != 0 and "must hold a JSON object {field: value}" in result.output


def test_the_guides_explain_example_prints_what_the_guide_says(tmp_path):
    """docs/providers.md's `--answers - --format text` command, run as printed;
    each line of its printed output comes out, in order."""
    section = GUIDE[GUIDE.index("`--format text` prints only the"):]
    command = textwrap.dedent(re.search(r"```sh\n(.*?)```", section, re.S).group(1)).strip()
    printed = textwrap.dedent(re.search(r"```text\n(.*?)```", section, re.S).group(1)).splitlines()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/guide.sqlite3"}
    for var in ("PREFILL_PROVIDER_MODULES", "PREFILL_DEMO", "PREFILL_BUILTIN_FORMS"):
        env.pop(var, None)
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    out = iter(result.stdout.splitlines())
    assert all(line in out for line in printed), result.stdout  # a subsequence: the other fields left out
