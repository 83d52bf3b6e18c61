"""Conditional fields, multi-selects and profile questions on the JSON API: the
server decides again at submit, and a tampering client loses (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from tests.conftest import SECRET, TEST_PROVIDERS, proof

MODULES = [TEST_PROVIDERS, "tests.providers_conditional"]
MARK = "hidden-answer-7f3a"  # a value sent for a hidden field: must be stored nowhere


@pytest.fixture
def app(make_app):
    return make_app(PREFILL_PROVIDER_MODULES=MODULES, ADHOC_FORMS=True)


@pytest.fixture
def verified(make_app):
    return make_app(PREFILL_PROVIDER_MODULES=MODULES, IDENTITY_SECRET=SECRET, ADMIN_API_KEY="admin-key")


def submit(c, values, form="triage"):
    return c.post(f"/api/forms/{form}/submissions", json={"values": values})


def stored_text(app) -> str:
    with app.extensions["prefill"].db.connect() as conn:
        rows = conn.execute(text('SELECT "values", prefilled, changed, sources FROM submissions')).all()
        outbox = conn.execute(text("SELECT * FROM webhook_deliveries")).all()
    return repr(rows) + repr(outbox)


BILLING = {"email": "a@example.com", "category": "billing", "invoice": "INV-1", "tags": ["question"]}


def test_the_form_carries_its_rules_for_the_browser(client):
    fields = {f["name"]: f for f in client.get("/api/forms/triage").json["fields"]}
    assert fields["invoice"]["visibleIf"] == {"==": [{"var": "category"}, "billing"]}
    assert fields["steps"]["requiredIf"] == {"in": ["crash", {"var": "products"}]}
    assert fields["category"]["options"][2]["visibleIf"] == {"==": [{"var": "plan"}, "enterprise"]}
    assert fields["products"]["multiple"] is True and fields["products"]["maxItems"] == 2
    assert fields["tags"]["multiple"] is True and fields["tags"]["minItems"] == 1
    assert "visibleIf" not in fields["email"] and "multiple" not in fields["email"]  # only where they apply


def test_a_hidden_required_field_does_not_block_the_submit(app, client):
    r = submit(client, {**BILLING, "category": "bug", "invoice": None})
    assert r.status_code == 201, r.json
    assert "invoice" not in r.json["values"]


def test_a_shown_required_field_is_required(client):
    r = submit(client, {**BILLING, "invoice": ""})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["invoice"]


def test_a_value_sent_for_a_hidden_field_is_dropped_everywhere(make_app):
    app = make_app(PREFILL_PROVIDER_MODULES=MODULES, WEBHOOK_URL="http://127.0.0.1:9/hook", WEBHOOK_SECRET="s")
    c = app.test_client()
    r = submit(c, {**BILLING, "steps": MARK, "amount": 5})  # steps: bug only; amount: refund only
    assert r.status_code == 201, r.json
    assert "steps" not in r.json["values"] and "amount" not in r.json["values"]
    assert MARK not in stored_text(app)
    history = c.get("/api/submissions").json
    assert MARK not in repr(history)


def test_required_if_applies_to_visible_fields_only(client):
    r = submit(client, {**BILLING, "category": "bug", "products": ["crash"]})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["steps"]
    assert submit(client, {**BILLING, "category": "bug", "products": ["crash"], "steps": "1. open"}).status_code == 201
    # the same products with steps hidden (billing): not required
    assert submit(client, {**BILLING, "products": ["crash"]}).status_code == 201


def test_a_checkbox_controls_a_field(client):
    r = submit(client, {**BILLING, "refund": True})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["amount"]
    r = submit(client, {**BILLING, "refund": True, "amount": "12.5"})
    assert r.status_code == 201 and r.json["values"]["amount"] == 12.5
    r = submit(client, {**BILLING, "refund": False, "amount": 99})
    assert r.status_code == 201 and "amount" not in r.json["values"]


def test_an_option_hidden_by_its_rule_is_no_valid_choice(client):
    r = submit(client, {**BILLING, "category": "outage", "plan": "free"})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["category"]
    # Rules see answers: an anonymous visitor who answers the plan question sees the option
    # (who the user is stays the provider's job; a locked value is the server's, see below).
    assert submit(client, {**BILLING, "category": "outage", "plan": "enterprise"}).status_code == 201


def test_a_tampered_locked_value_cannot_unhide(verified):
    c = verified.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "a@example.com", **proof("u1", plan="free")})
    plan = next(f for f in c.get("/api/forms/triage").json["fields"] if f["name"] == "plan")
    assert plan["knownHidden"] is True and plan["value"] == "free" and plan["disabled"] is True
    r = submit(c, {**BILLING, "plan": "enterprise", "category": "outage"})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["category"]
    r = submit(c, {**BILLING, "plan": "enterprise"})
    assert r.status_code == 201 and r.json["values"]["plan"] == "free"  # the server's value, whatever was sent


def test_a_trusted_plan_unlocks_the_option(verified):
    c = verified.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "a@example.com", **proof("u1", plan="enterprise")})
    r = submit(c, {**BILLING, "category": "outage"})
    assert r.status_code == 201, r.json
    assert r.json["values"]["plan"] == "enterprise" and "invoice" not in r.json["values"]


def test_a_claimed_plan_is_shown_not_hidden(client):
    client.post("/api/identify", json={"userId": "u1", "metadata": {"plan": "enterprise"}})
    plan = next(f for f in client.get("/api/forms/triage").json["fields"] if f["name"] == "plan")
    assert "knownHidden" not in plan and plan["value"] == "enterprise" and plan["source"] == "claimed"


@pytest.mark.parametrize(("products", "problem"), [
    (["app", "api", "crash"], "Choose at most 2."),
    (["app", "nope"], "Not a valid choice."),
    ("app,api", "Not a valid choice."),
    ([1, 2], "Must be a list of choices."),
    ({"app": True}, "Must be a list of choices."),
])
def test_multi_select_values_are_checked(client, products, problem):
    r = submit(client, {**BILLING, "products": products})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"products": [problem]}


def test_multi_select_keeps_each_choice_once_in_order(client):
    r = submit(client, {**BILLING, "products": ["api", "app", "api"], "tags": "urgent"})
    assert r.status_code == 201
    assert r.json["values"]["products"] == ["api", "app"] and r.json["values"]["tags"] == ["urgent"]


def test_min_items_makes_a_multi_select_required(client):
    r = submit(client, {**BILLING, "tags": []})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"tags": ["This field is required."]}


def test_multi_select_prefills_from_a_list_and_locks(make_app):
    app = make_app(PREFILL_PROVIDER_MODULES=MODULES)
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", "metadata": {"tags": ["feedback", "urgent"], "products": ["zzz"]}})
    fields = {f["name"]: f for f in c.get("/api/forms/triage").json["fields"]}
    assert fields["tags"]["value"] == ["feedback", "urgent"] and fields["tags"]["source"] == "claimed"
    assert fields["products"]["value"] is None  # a value that is no option is not used


def test_the_csv_export_writes_a_multi_select_as_a_json_list_in_one_cell(verified):
    c = verified.test_client()
    assert submit(c, {**BILLING, "products": ["app", "api"]}).status_code == 201
    r = c.get("/api/admin/submissions?format=csv", headers={"Authorization": "Bearer admin-key"})
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0]["values.products"] == '["app","api"]' and rows[0]["values.tags"] == '["question"]'


def test_adhoc_forms_take_the_same_rules(client):
    schema = {"fields": [
        {"name": "kind", "type": "select", "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
        {"name": "detail", "required": True, "visibleIf": {"==": [{"var": "kind"}, "a"]}},
        {"name": "extras", "type": "checkboxes", "options": [{"label": "X", "value": "x"}]},
    ]}
    resolved = client.post("/api/forms/resolve", json=schema)
    assert resolved.status_code == 200 and resolved.json["fields"][1]["visibleIf"]
    r = client.post("/api/forms/adhoc/submissions", json={"schema": schema, "values": {"kind": "b", "detail": MARK}})
    assert r.status_code == 201 and "detail" not in r.json["values"] and r.json["values"]["extras"] == []
    r = client.post("/api/forms/adhoc/submissions", json={"schema": schema, "values": {"kind": "a"}})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["detail"]


@pytest.mark.parametrize(("field", "problem"), [
    ({"name": "x", "visibleIf": {"==": [{"var": "nope"}, 1]}}, "unknown field 'nope'"),
    ({"name": "x", "visibleIf": {"regex": ["a", "b"]}}, "operator 'regex' is not supported"),
    ({"name": "x", "visibleIf": {"var": "x"}}, "circle"),
    ({"name": "x", "multiple": True}, "only a select"),
    ({"name": "x", "type": "checkboxes", "options": [{"label": "A", "value": "a"}], "minItems": 3, "maxItems": 2},
     "must not exceed maxItems"),
])
def test_rule_errors_name_the_field(client, field, problem):
    r = client.post("/api/forms/resolve", json={"fields": [field]})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_schema"
    assert problem in repr(r.json["error"]) and "'x'" in repr(r.json["error"])


def test_progressive_questions_ask_two_at_a_time(client):
    names = [f["name"] for f in client.get("/api/forms/profile").json["fields"]]
    assert names == ["message", "company", "role"]
    client.post("/api/identify", json={"userId": "u1", "metadata": {"company": "Acme"}})
    fields = client.get("/api/forms/profile").json["fields"]
    assert [f["name"] for f in fields] == ["message", "company", "role", "teamSize"]
    assert fields[1]["knownHidden"] is True and fields[1]["value"] == "Acme"
    r = submit(client, {"message": "hi", "role": "dev", "teamSize": "4", "company": "Evil"}, form="profile")
    assert r.status_code == 201 and r.json["values"]["company"] == "Acme" and r.json["values"]["teamSize"] == 4


def test_save_to_profile_writes_answers_back_and_the_next_form_asks_the_next(verified):
    c = verified.test_client()
    c.post("/api/identify", json={"userId": "u1", **proof("u1", role="owner")})
    fields = {f["name"]: f for f in c.get("/api/forms/profile").json["fields"]}
    assert fields["role"]["knownHidden"] and list(fields) == ["message", "company", "role", "teamSize"]
    r = submit(c, {"message": "hi", "company": "Acme", "teamSize": 7, "role": "intern"}, form="profile")
    assert r.status_code == 201 and r.json["values"]["role"] == "owner"
    fields = {f["name"]: f for f in c.get("/api/forms/profile").json["fields"]}
    assert fields["company"]["knownHidden"] and fields["company"]["value"] == "Acme"
    assert fields["teamSize"]["value"] == 7 and fields["teamSize"]["source"] == "claimed"
    me = c.get("/api/me").json
    assert me["userMetadata"]["company"] == "Acme" and me["userMetadata"]["role"] == "owner"  # trusted kept


def test_save_to_profile_needs_an_identified_user_and_skips_sensitive_keys(make_app, tmp_path, monkeypatch):
    app = make_app(PREFILL_PROVIDER_MODULES=MODULES, SENSITIVE_KEYS_EXTRA=["company"])
    c = app.test_client()
    assert submit(c, {"message": "hi", "company": "Acme", "role": "dev"}, form="profile").status_code == 201
    c.post("/api/identify", json={"userId": "u9"})
    assert submit(c, {"message": "hi", "company": "Acme", "role": "dev"}, form="profile").status_code == 201
    metadata = c.get("/api/me").json["userMetadata"]
    assert metadata.get("role") == "dev" and "company" not in metadata


def test_save_to_profile_of_a_multi_select_saves_the_list(client):
    client.post("/api/identify", json={"userId": "u1"})
    assert submit(client, {**BILLING, "tags": ["urgent", "feedback"]}).status_code == 201
    tags = next(f for f in client.get("/api/forms/triage").json["fields"] if f["name"] == "tags")
    assert tags["value"] == ["urgent", "feedback"] and tags["source"] == "claimed"
