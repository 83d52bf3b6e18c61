"""/dev/preview with answers: each side says what the rules show and require
and what a submit would keep, and no sensitive value reaches the page."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_PROVIDERS

SECRET = "tok-55aa77bb"
PAT = {"userId": "p1", "userMetadata": {"email": "pat@example.com", "authToken": SECRET}, "trusted": {"plan": "pro"}}
ERIN = {"userId": "e1", "userMetadata": {"email": "erin@example.com"}, "trusted": {"plan": "enterprise"}}


@pytest.fixture
def client(make_app):
    app = make_app(PREFILL_DEV=True, PREFILL_PROVIDER_MODULES=[TEST_PROVIDERS, "tests.providers_conditional"])
    return app.test_client()


def sides(html):
    a, b = html.split('<div class="dev-side" data-side="B">')
    return a[a.index('<div class="dev-side" data-side="A">'):], b


def field(side, name):
    return re.search(rf'<div class="dev-field[^"]*" data-field="{name}"\s+data-shown="(\w+)" '
                     rf'data-required="(\w+)">(.*?)</ul>', side, re.S)


def test_each_side_explains_the_answers_and_what_a_submit_keeps(client):
    answers = {"category": "outage", "plan": "enterprise", "tags": ["urgent"]}
    r = client.post("/dev/preview", data={"form": "triage", "left": json.dumps(PAT), "right": json.dumps(ERIN),
                                          "answers": json.dumps(answers)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    pat, erin = sides(html)
    shown, required, why = field(pat, "category").groups()
    assert (shown, required) == ("yes", "yes")
    assert ("option &#34;outage&#34; hidden: visibleIf {&#34;==&#34;: [{&#34;var&#34;: &#34;plan&#34;}, "
            "&#34;enterprise&#34;]} is false (it saw plan = &#34;pro&#34;)") in why
    assert "option &#34;outage&#34; hidden" not in field(erin, "category").group(3)
    assert "the answer given is ignored: the field is locked" in field(pat, "plan").group(3)
    assert field(pat, "plan").group(1) == "no" and "not asked: hideKnown is on" in field(pat, "plan").group(3)
    assert field(pat, "invoice").group(1) == "no"
    assert "hidden: visibleIf {&#34;==&#34;: [{&#34;var&#34;: &#34;category&#34;}, &#34;billing&#34;]} is false " \
           "(it saw category = &#34;outage&#34;)" in field(pat, "invoice").group(3)
    assert "A submit would fail" in pat and "<strong>category</strong>: Not a valid choice." in pat
    assert "A submit would keep" in erin and "&#34;category&#34;: &#34;outage&#34;" in erin


def test_required_if_and_dropped_answers_on_the_page(client):
    answers = {"category": "billing", "invoice": "INV-4", "steps": "typed before switching", "tags": ["question"],
               "refund": True}
    r = client.post("/dev/preview", data={"form": "triage", "left": json.dumps(ERIN), "right": "{}",
                                          "answers": json.dumps(answers)})
    erin, anonymous = sides(r.get_data(as_text=True))
    shown, required, why = field(erin, "amount").groups()
    assert (shown, required) == ("yes", "yes")
    assert "required: requiredIf {&#34;var&#34;: &#34;refund&#34;} is true" in why
    assert "Dropped (hidden, stored nowhere): steps" in erin
    assert "<strong>amount</strong>: This field is required." in anonymous  # the same answers, both sides


def test_a_get_with_answers_explains_too_and_bad_answers_are_a_400(client):
    r = client.get("/dev/preview?" + urlencode({"form": "profile", "answers": json.dumps({"message": "Hi"})}))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "A submit would keep" in html
    assert "not in this form: a profile question left for a later form" in field(sides(html)[0], "teamSize").group(3)
    r = client.post("/dev/preview", data={"form": "triage", "answers": "[1, 2]"})
    assert r.status_code == 400 and "Not JSON answers: the answers is a JSON object" in r.get_data(as_text=True)


def test_no_sensitive_value_anywhere_in_the_page(client):
    answers = {"category": "billing", "invoice": f"my key is {SECRET}", "tags": ["urgent"]}
    r = client.post("/dev/preview", data={"form": "triage", "left": json.dumps(PAT), "right": json.dumps(ERIN),
                                          "answers": json.dumps(answers)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "A submit would" in html
    assert SECRET not in html and SECRET[4:] not in html
    assert "&#34;authToken&#34;: &#34;[redacted]&#34;" in html  # the identity comes back without it
    pat, erin = sides(html)
    for side in (pat, erin):  # kept on both sides, redacted though only Pat holds it
        assert "A submit would keep" in side and "&#34;invoice&#34;: &#34;my key is [redacted]&#34;" in side
