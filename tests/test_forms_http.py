"""Rendering surfaces: the JSON schema API and the server-rendered HTML form."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import proof

SECRETS = {"authToken": "tok-AAAA-1111", "apiKey": "key-BBBB-2222", "nested": {"client_secret": "sec-CCCC-3333"}}
SECRET_VALUES = ("tok-AAAA-1111", "key-BBBB-2222", "sec-CCCC-3333")


def field(form_json, name):
    return next(f for f in form_json["fields"] if f["name"] == name)


def test_list_forms(client):
    forms = client.get("/api/forms").json["forms"]
    assert {"name": "support_ticket", "title": "Contact support"} in forms
    assert {"name": "open_form", "title": "Open form"} in forms


def test_json_form_shape_and_prefill(client):
    anon = client.get("/api/forms/support_ticket?subject=Hello").json
    assert set(anon) == {"name", "title", "description", "submitLabel", "fields"}
    assert set(anon["fields"][0]) >= {"name", "label", "type", "required", "value", "disabled", "options",
                                      "placeholder", "help"}
    assert field(anon, "email")["value"] is None and field(anon, "subject")["value"] == "Hello"
    client.post("/api/identify", json={"userId": "u1", "email": "a@b.co", "metadata": {"company": "Acme"}})
    known = client.get("/api/forms/support_ticket").json
    assert field(known, "email") | {} == field(known, "email")
    assert (field(known, "email")["value"], field(known, "email")["disabled"]) == ("a@b.co", True)
    assert (field(known, "company")["value"], field(known, "company")["disabled"]) == ("Acme", False)


def test_reserved_query_args_are_not_passed_to_providers(client):
    data = client.get("/api/forms/echo_args?embed=1&orderId=42&b=2").json
    assert field(data, "seen")["value"] == "b,orderId"


def test_json_form_never_writes_a_session(app):
    c = app.test_client()
    r = c.get("/api/forms/support_ticket")
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    assert r.headers["Cache-Control"].startswith("private")


def test_html_form_prefilled_locked_and_labelled(client):
    client.post("/api/identify", json={"userId": "u1", "email": "a@b.co", "name": "Ann"})
    html = client.get("/forms/support_ticket?subject=Re%3A+bill").get_data(as_text=True)
    assert '<form method="post"' in html
    email = re.search(r"<input[^>]*id=\"email\"[^>]*>", html).group(0)
    assert 'value="a@b.co"' in email and "readonly" in email and "data-known" in email
    assert re.search(r'<label for="email">Email</label>', html)
    assert re.search(r'<input[^>]*id="name"[^>]*value="Ann"', html)
    assert re.search(r'<input[^>]*id="subject"[^>]*value="Re: bill"', html)
    assert '<span class="known" id="email-source">From your sign-in</span>' in html  # a claim, shown as such
    for name in ("name", "company", "subject", "priority", "message"):
        assert f'<label for="{name}">' in html


def test_locked_choices_are_read_only_text_that_stays_focusable(client):
    """Issue 8: ``disabled`` took locked select/radio/checkbox out of the Tab order and
    hid their value from screen readers; they are read-only text showing the label."""
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {
        "select": "2", "radio": "b", "checkbox": True, "text": "abc", "number": 5}})
    html = client.get("/forms/all_types").get_data(as_text=True)
    assert "disabled" not in html and "<select" not in html.split('id="select"')[0][-200:]
    for name, shown in (("select", "Two"), ("radio", "B"), ("checkbox", "Yes")):
        control = re.search(rf'<input[^>]*id="{name}"[^>]*>', html).group(0)
        assert "readonly" in control and f'value="{shown}"' in control and 'type="text"' in control
        assert f'aria-describedby="{name}-source"' in control
    text_input = re.search(r'<input[^>]*id="text"[^>]*>', html).group(0)
    assert "readonly" in text_input and "disabled" not in text_input
    number = re.search(r'<input[^>]*id="number"[^>]*>', html).group(0)
    assert 'value="5"' in number and 'min="1"' in number and 'max="100"' in number


def test_a_locked_choice_keeps_the_server_value_whatever_is_posted(client):
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {"select": "2", "radio": "b"}})
    html = client.get("/forms/all_types").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/forms/all_types", data={"csrf_token": csrf, "select": "1", "radio": "a", "text": "tt",
                                              "number": "3", "date": "2024-01-01"})
    assert r.status_code == 303, r.status_code
    item = client.get("/api/submissions").json["items"][0]
    assert item["values"]["select"] == "2" and item["values"]["radio"] == "b"


def test_embed_mode_and_frame_ancestors(make_app):
    c = make_app(FRAME_ANCESTORS="'self' https://app.example.com").test_client()
    r = c.get("/forms/support_ticket?embed=1")
    assert r.status_code == 200
    assert "frame-ancestors 'self' https://app.example.com" in r.headers["Content-Security-Policy"]
    html = r.get_data(as_text=True)
    assert 'class="embed"' in html and 'class="bar"' not in html
    full = c.get("/forms/support_ticket")
    assert "frame-ancestors 'self' https://app.example.com" in full.headers["Content-Security-Policy"]
    assert 'class="brand"' not in full.get_data(as_text=True) and ">Prefill<" not in full.get_data(as_text=True)
    assert "frame-ancestors 'self'" in make_app().test_client().get("/forms/support_ticket").headers[
        "Content-Security-Policy"]


def test_html_injection_through_metadata_is_escaped(client):
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    client.post("/api/identify", json={"userId": "u1", "name": evil, "email": "a@b.co", "metadata": {"company": evil}})
    html = client.get("/forms/templated").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&#34;&gt;&lt;script&gt;" in html
    html2 = client.get("/forms/support_ticket").get_data(as_text=True)
    assert "<script>alert(1)" not in html2


def test_template_injection_through_metadata_stays_literal(client):
    client.post("/api/identify", json={"userId": "u1", "name": "{{userId}}{{ config }}{% print 1 %}",
                                      "metadata": {"authToken": "tok-AAAA-1111"}})
    data = client.get("/api/forms/templated").json
    assert data["title"] == "Hello {{userId}}{{ config }}{% print 1 %}"
    html = client.get("/forms/templated").get_data(as_text=True)
    assert "test-secret-key" not in html and "tok-AAAA-1111" not in html
    assert "{{ config }}" in html


@pytest.mark.parametrize("path", ["/api/forms/{f}", "/forms/{f}", "/forms/{f}?embed=1", "/api/me"])
@pytest.mark.parametrize("form", ["support_ticket", "templated", "leaky", "all_types", "refund"])
def test_sensitive_values_never_reach_any_response(client, path, form):
    client.post("/api/identify", json={"userId": "u1", "email": "a@b.co", "metadata": SECRETS})
    client.post("/api/session/metadata", json={"metadata": {"sessionToken": "tok-AAAA-1111", "page": "/x"}})
    body = client.get(path.format(f=form)).get_data(as_text=True)
    for secret in SECRET_VALUES:
        assert secret not in body


def test_sensitive_values_never_reach_error_pages_or_logs(client, caplog):
    client.post("/api/identify", json={"userId": "u1", "metadata": SECRETS})
    with caplog.at_level(logging.DEBUG):
        for path in ("/api/forms/broken", "/forms/broken", "/api/forms/bad_schema", "/forms/nope", "/api/forms/leaky"):
            body = client.get(path).get_data(as_text=True)
            for secret in SECRET_VALUES:
                assert secret not in body
    for secret in SECRET_VALUES:
        assert secret not in caplog.text


def test_unknown_form_404_both_surfaces(client):
    r = client.get("/api/forms/nope")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_form"
    assert "unknown form 'nope'; registered:" in r.json["error"]["message"]
    assert "support_ticket" in r.json["error"]["message"]
    h = client.get("/forms/nope")
    assert h.status_code == 404 and h.mimetype == "text/html"
    assert "This page does not exist." in h.get_data(as_text=True)
    assert "registered" not in h.get_data(as_text=True) and "support_ticket" not in h.get_data(as_text=True)


def test_provider_failure_is_500_without_traceback(client, caplog):
    with caplog.at_level(logging.ERROR):
        r = client.get("/api/forms/broken")
    assert r.status_code == 500 and r.json["error"]["code"] == "provider_failed"
    assert "hunter2" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)
    assert "hunter2" in caplog.text  # the traceback is logged for the operator
    h = client.get("/forms/broken")
    assert h.status_code == 500 and "hunter2" not in h.get_data(as_text=True)


def test_invalid_schema_is_500_naming_provider_field_and_problem(client):
    r = client.get("/api/forms/bad_schema")
    assert r.status_code == 500 and r.json["error"]["code"] == "invalid_schema"
    msg = r.json["error"]["message"]
    assert "bad_schema" in msg and "prio" in msg and "options" in msg
    assert "sekrit-value" not in msg


def test_unknown_api_path_and_method_use_json_error_shape(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json == {"error": {"code": "not_found", "message": "Not found."}}
    r = client.delete("/api/forms")
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"


def test_verified_user_sees_trusted_priorities_in_html(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u9", **proof("u9", plan="enterprise")})
    html = c.get("/forms/support_ticket").get_data(as_text=True)
    assert '<option value="critical">Critical</option>' in html


def test_demo_page_lists_forms_and_personas(make_app):
    app = make_app(PREFILL_DEMO=True, IDENTITY_SECRET="demo-secret-0123456789abcdef0123456789")
    c = app.test_client()
    html = c.get("/").get_data(as_text=True)
    assert "/forms/support_ticket" in html and "enterprise" in html
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)
    r = c.post("/demo/persona", data={"persona": "enterprise", "csrf_token": csrf})
    assert r.status_code == 303
    data = c.get("/api/forms/support_ticket").json
    assert [o["value"] for o in field(data, "priority")["options"]] == ["critical", "high", "normal"]
    assert field(data, "email")["disabled"] is True
    # Signing in gave the session a new token (no fixation), so the old page's CSRF token is void.
    assert c.post("/demo/persona", data={"persona": "pro", "csrf_token": csrf}).status_code == 400
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/").get_data(as_text=True)).group(1)
    c.post("/demo/persona", data={"persona": "claims-enterprise", "csrf_token": csrf})
    data = c.get("/api/forms/support_ticket").json
    assert [o["value"] for o in field(data, "priority")["options"]] == ["high", "normal", "low"]
    assert c.post("/demo/persona", data={"persona": "pro", "csrf_token": "bad"}).status_code == 400


def test_demo_is_off_by_default(client):
    assert client.post("/demo/persona", data={"persona": "enterprise"}).status_code == 404
    assert "persona" not in client.get("/").get_data(as_text=True)


def test_autocomplete_tokens_from_name_and_type_and_the_schema(client):
    html = client.get("/forms/support_ticket").get_data(as_text=True)
    assert re.search(r'<input[^>]*autocomplete="email"[^>]*id="email"', html) or \
        re.search(r'<input[^>]*id="email"[^>]*autocomplete="email"', html)
    for name, token in (("name", "name"), ("company", "organization")):
        tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', html).group(0)
        assert f'autocomplete="{token}"' in tag
    subject = re.search(r'<input[^>]*id="subject"[^>]*>', html).group(0)
    assert "autocomplete" not in subject
    fields = {f["name"]: f for f in client.get("/api/forms/support_ticket").json["fields"]}
    assert fields["email"]["autocomplete"] == "email" and fields["priority"]["autocomplete"] is None


def test_pattern_message_is_told_by_server_and_browser(client):
    html = client.get("/forms/refund").get_data(as_text=True)
    order = re.search(r'<input[^>]*id="orderId"[^>]*>', html).group(0)
    assert 'title="3 to 20 capital letters, digits or dashes, as on your receipt."' in order
    r = client.post("/api/forms/refund/submissions", json={"values": {
        "email": "a@b.co", "orderId": "no way", "amount": 1, "reason": "other"}})
    assert r.json["error"]["fields"]["orderId"] == ["3 to 20 capital letters, digits or dashes, as on your receipt."]
