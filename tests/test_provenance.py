"""Provenance: every resolved field says where its value came from, in the JSON
API, in the HTML form, and in what a submission stores and the export shows."""

from __future__ import annotations

import csv
import io

from .conftest import proof

ADMIN = {"Authorization": "Bearer admin-key"}


def sources(client, form="support_ticket", query=""):
    body = client.get(f"/api/forms/{form}{query}").json
    return {f["name"]: f["source"] for f in body["fields"]}


def test_each_field_says_where_its_value_came_from(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "a@b.co", "name": "Ann", **proof("u1", company="Acme")})
    assert sources(c, query="?subject=Hello") == {
        "email": "claimed", "name": "claimed", "company": "trusted", "subject": "default",
        "category": None, "invoice": None, "affected": None, "steps": None, "priority": None, "message": None,
        "screenshot": None,
    }
    assert sources(c, "templated")["greeting"] == "template"
    html = c.get("/forms/support_ticket").get_data(as_text=True)
    assert '<span class="known" id="company-source">From your account</span>' in html
    assert '<span class="known" id="email-source">From your sign-in</span>' in html


def test_a_trusted_value_wins_and_is_marked_trusted(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "claimed@b.co", **proof("u1", email="signed@b.co")})
    body = c.get("/api/forms/support_ticket").json
    email = next(f for f in body["fields"] if f["name"] == "email")
    assert (email["value"], email["source"]) == ("signed@b.co", "trusted")


def test_submissions_store_the_sources_and_the_export_shows_them(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "a@b.co", "name": "Ann", **proof("u1", company="Acme")})
    r = c.post("/api/forms/support_ticket/submissions", json={"args": {"subject": "Hi"}, "values": {
        "email": "x@y.co", "name": "Bob", "company": "Acme", "subject": "Hi", "priority": "normal",
        "message": "m"}})
    assert r.status_code == 201
    item = c.get("/api/submissions").json["items"][0]
    assert item["sources"] == {"email": "claimed", "name": "claimed", "company": "trusted", "subject": "default"}
    assert item["changed"] == ["name"]  # the locked email kept its value; the name was changed
    rows = list(csv.DictReader(io.StringIO(
        c.get("/api/admin/submissions?format=csv", headers=ADMIN).get_data(as_text=True))))
    assert '"company":"trusted"' in rows[0]["sources"]
