"""The built-in demo forms read well for every visitor (hardening round 3, defect 13)."""

from __future__ import annotations

import pytest


def description(client, path="/api/forms/refund"):
    return client.get(path).json["description"]


def test_the_refund_form_greets_an_anonymous_visitor_without_a_blank_name(client):
    assert description(client) == "Tell us which order to refund."
    page = client.get("/forms/refund").get_data(as_text=True)
    assert "Tell us which order to refund." in page and "Hi ," not in page


def test_the_refund_form_greets_a_named_visitor_by_name(client):
    client.post("/api/identify", json={"userId": "u1", "name": "Ann"})
    assert description(client) == "Hi Ann, tell us which order to refund."
    assert "Hi Ann, tell us which order to refund." in client.get("/forms/refund").get_data(as_text=True)


@pytest.mark.parametrize("name", ["", "   ", {"first": "Ann"}, ["Ann"], None, 42])
def test_a_name_that_is_not_text_is_not_a_greeting(client, name):
    client.post("/api/identify", json={"userId": "u1", "userMetadata": {"name": name}})
    assert description(client) == "Tell us which order to refund."


def test_a_named_greeting_is_escaped_in_the_page(client):
    client.post("/api/identify", json={"userId": "u1", "name": "<b>Ann</b>"})
    page = client.get("/forms/refund").get_data(as_text=True)
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;, tell us" in page
