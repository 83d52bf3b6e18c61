"""/dev/preview: a form as two identities, side by side, explained, with the
differences marked; only with PREFILL_DEV=1."""

from __future__ import annotations

import json
import re


def test_off_unless_asked(client):
    assert client.get("/dev/preview").status_code == 404


def test_two_identities_side_by_side_with_reasons_and_differences(make_app):
    app = make_app(PREFILL_DEV=True)
    c = app.test_client()
    page = c.get("/dev/preview").get_data(as_text=True)
    assert "Erin (enterprise, signed)" in page and '<option value="support_ticket"' in page
    erin = {"userId": "e1", "userMetadata": {"email": "erin@example.com"}, "trusted": {"plan": "enterprise"}}
    cody = {"userId": "c1", "verified": False, "userMetadata": {"Email": "cody@example.com", "plan": "enterprise"}}
    r = c.post("/dev/preview", data={"form": "support_ticket", "left": json.dumps(cody),
                                     "right": json.dumps(erin), "args": "subject=Hi"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Content-Security-Policy"]
    sides = re.split(r'<div class="dev-side" data-side="B">', html)
    assert 'value="critical"' not in sides[0] and 'value="critical"' in sides[1]
    assert re.search(r'class="dev-field differs" data-field="priority"', html)
    assert re.search(r'class="dev-field differs" data-field="email"', html)
    assert not re.search(r'class="dev-field differs" data-field="subject"', html)  # the same for both
    assert "key &#39;Email&#39; differs from the field name &#39;email&#39; only by case" in html
    assert "matched key &#39;email&#39;, claimed by the browser" in html


def test_bad_identity_json_is_a_400_page_keeping_the_input(make_app):
    c = make_app(PREFILL_DEV=True).test_client()
    r = c.post("/dev/preview", data={"form": "support_ticket", "left": "{not json", "right": "{}"})
    assert r.status_code == 400 and "Not a JSON identity" in r.get_data(as_text=True)
    assert "{not json" in r.get_data(as_text=True)
