"""A provider that echoes the caller's args into its form is no oracle for the
user's hidden values (round 3 review): the secret sweep leaves alone what the
caller wrote itself, and still blanks a secret a provider copies on its own."""

from __future__ import annotations

import pytest

from tests.conftest import proof

PIN = "7395"


@pytest.fixture
def clients(verified_app):
    holder, other = verified_app.test_client(), verified_app.test_client()
    holder.post("/api/identify", json={"userId": "u1", **proof("u1", supportPinSecret=PIN)})
    other.post("/api/identify", json={"userId": "u2", **proof("u2", supportPinSecret="1111")})
    return holder, other


@pytest.mark.parametrize("guess", [PIN, f"A-{PIN}-B", "0000 7395 9999", "7394"])
def test_an_echoed_guess_comes_back_the_same_for_everyone(clients, guess):
    holder, other = clients
    answers = []
    for c in (holder, other):
        form = c.get("/api/forms/refund", query_string={"orderId": guess}).json
        answers.append(next(f["value"] for f in form["fields"] if f["name"] == "orderId"))
    assert answers == [guess, guess]


def test_the_html_page_is_no_oracle_either(clients):
    holder, other = clients
    pages = [c.get("/forms/support_ticket", query_string={"subject": f"PIN {PIN}?"}).get_data(as_text=True)
             for c in (holder, other)]
    assert all(f"PIN {PIN}?" in page for page in pages)


def test_a_secret_the_caller_did_not_send_is_still_blanked(verified_app):
    c = verified_app.test_client()
    token = "tok-4f9a2c7e"
    c.post("/api/identify", json={"userId": "u1", **proof("u1", authToken=token)})
    # "leaky" copies the token into a default and a label; the caller sent args that are not it
    form = c.get("/api/forms/leaky", query_string={"x": "tok-4f9a"}).json
    assert token not in repr(form)
    fields = {f["name"]: f for f in form["fields"]}
    assert fields["note"]["value"] == "" and fields["label_leak"]["label"] == ""
    # the same request from a caller who already holds the token: nothing is revealed by echoing it
    form = c.get("/api/forms/leaky", query_string={"x": token}).json
    assert {f["name"]: f for f in form["fields"]}["note"]["value"] == f"token={token}"
