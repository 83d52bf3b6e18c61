"""Submissions: checked against the form *this user* was shown, stored once, never lost."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import text

from tests.conftest import proof

TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


def count(app, table="submissions") -> int:
    with app.extensions["prefill"].db.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()


def post(c, values, form="support_ticket", args=None, headers=None):
    body = {"values": values}
    if args is not None:
        body["args"] = args
    return c.post(f"/api/forms/{form}/submissions", json=body, headers=headers or {})


def test_submit_returns_201_with_stored_values(app, client):
    r = post(client, TICKET)
    assert r.status_code == 201
    assert set(r.json) == {"id", "form", "values", "createdAt"}
    assert r.json["form"] == "support_ticket" and r.json["values"]["subject"] == "Help"
    assert r.json["values"]["name"] is None  # left out counts as empty
    assert re.match(r"\d{4}-\d\d-\d\dT", r.json["createdAt"])
    assert count(app) == 1


def test_tampered_locked_field_is_stored_as_known(app, client):
    client.post("/api/identify", json={"userId": "u1", "email": "known@example.com"})
    r = post(client, {**TICKET, "email": "attacker@evil.test"})
    assert r.status_code == 201 and r.json["values"]["email"] == "known@example.com"
    with app.extensions["prefill"].db.connect() as conn:
        stored = conn.execute(text("SELECT \"values\" FROM submissions")).scalar()
    assert "attacker@evil.test" not in stored and "known@example.com" in stored


def test_option_from_another_users_form_is_refused(app, client):
    client.post("/api/identify", json={"userId": "u1", "metadata": {"plan": "enterprise"}})  # claimed only
    r = post(client, {**TICKET, "priority": "critical"})
    assert r.status_code == 422
    assert r.json["error"]["code"] == "validation_failed" and list(r.json["error"]["fields"]) == ["priority"]
    assert count(app) == 0


def test_trusted_enterprise_user_may_send_critical(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "e@x.co", **proof("u1", plan="enterprise")})
    assert post(c, {**TICKET, "priority": "critical"}).status_code == 201
    assert post(c, {**TICKET, "priority": "low"}).status_code == 422


@pytest.mark.parametrize("values,field", [
    ({"text": "a"}, "text"), ({"text": "x" * 11}, "text"), ({"text": 5}, "text"),
    ({"email": "not-an-email"}, "email"), ({"select": "3"}, "select"), ({"radio": "c"}, "radio"),
    ({"checkbox": "yes"}, "checkbox"), ({"number": "abc"}, "number"), ({"number": 0}, "number"),
    ({"number": 101}, "number"), ({"number": True}, "number"), ({"date": "2024-13-01"}, "date"),
    ({"date": "2019-12-31"}, "date"), ({"date": "01/02/2024"}, "date"), ({"tel": "abc"}, "tel"),
    ({"tel": "123456 x"}, "tel"), ({"url": "javascript:alert(1)"}, "url"), ({"url": "example.com"}, "url"),
    ({"bogus": 1}, "bogus"), ({"hidden": ["a"]}, "hidden"),
])
def test_rules_are_enforced(app, client, values, field):
    r = post(client, values, form="all_types")
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"]
    assert count(app) == 0


def test_valid_values_of_every_type(client):
    values = {"text": "ab", "email": "a@b.co", "textarea": "t", "select": "2", "radio": "a", "checkbox": True,
              "number": "42", "date": "2024-02-29", "tel": "+44 1234", "url": "https://x.test/p", "hidden": "h"}
    r = post(client, values, form="all_types")
    assert r.status_code == 201, r.json
    assert r.json["values"]["number"] == 42 and r.json["values"]["checkbox"] is True


def test_missing_required_and_unknown_keys_named(client):
    r = post(client, {"subject": "x", "nope": 1, "also": 2})
    fields = r.json["error"]["fields"]
    assert r.status_code == 422
    assert {"nope", "also", "email", "priority", "message"} <= set(fields)


def test_locked_required_without_value_is_422(client):
    r = post(client, {"account": "forged", "note": "n"}, form="locked_required")
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["account"]


@pytest.mark.parametrize("body,status,code", [
    ({"values": []}, 400, "validation_failed"), ({"values": "x"}, 400, "validation_failed"),
    ({}, 400, "validation_failed"), ({"values": {}, "args": {"a": 1}}, 400, "validation_failed"),
    ({"values": {}, "extra": 1}, 400, "validation_failed"),
])
def test_wrong_body_shape_is_400(app, client, body, status, code):
    r = client.post("/api/forms/support_ticket/submissions", json=body)
    assert (r.status_code, r.json["error"]["code"]) == (status, code)
    assert count(app) == 0


def test_malformed_json_oversize_and_unknown_form(make_app):
    app = make_app(MAX_BODY_BYTES=2048)
    c = app.test_client()
    r = c.post("/api/forms/support_ticket/submissions", data=b'{"values": {', content_type="application/json")
    assert (r.status_code, r.json["error"]["code"]) == (400, "invalid_json")
    r = post(c, {**TICKET, "message": "x" * 5000})
    assert (r.status_code, r.json["error"]["code"]) == (413, "payload_too_large")
    r = post(c, TICKET, form="nope")
    assert (r.status_code, r.json["error"]["code"]) == (404, "unknown_form")
    assert count(app) == 0


def test_args_are_used_to_re_resolve(client):
    r = post(client, {"email": "a@b.co", "priority": "low", "message": "m"}, args={"subject": "From args"})
    assert r.status_code == 422  # subject has a default but is not locked: a missing value is still empty
    r = post(client, {**TICKET}, args={"subject": "From args"})
    assert r.status_code == 201


def test_prefilled_and_changed_are_recorded(app, client):
    client.post("/api/identify", json={"userId": "u1", "email": "a@b.co", "name": "Ann", "metadata": {"notes": "n"}})
    r = post(client, {"email": "a@b.co", "name": "Annie", "notes": ""}, form="open_form")
    assert r.status_code == 201
    with app.extensions["prefill"].db.connect() as conn:
        row = conn.execute(text("SELECT prefilled, changed FROM submissions")).one()
    assert sorted(eval(row[0])) == ["email", "name", "notes"]  # JSON lists
    assert sorted(eval(row[1])) == ["name", "notes"]  # edited and cleared


def test_sensitive_session_metadata_is_never_stored(app, client):
    client.post("/api/session/metadata", json={"metadata": {"page": "/p", "accessToken": "AT-99999999"}})
    client.post("/api/identify", json={"userId": "u1", "metadata": {"password": "PW-99999999"}})
    post(client, TICKET)
    with app.extensions["prefill"].db.connect() as conn:
        dump = " ".join(str(v) for v in conn.execute(text("SELECT * FROM submissions")).one())
    assert "AT-99999999" not in dump and "PW-99999999" not in dump and "/p" in dump


# -- idempotency -------------------------------------------------------------
def test_idempotent_replay_and_conflict(app, client):
    h = {"Idempotency-Key": "k-1"}
    first = post(client, TICKET, headers=h)
    again = post(client, TICKET, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json and count(app) == 1
    # Serialised once, when stored: the replay is the first answer to the byte.
    assert first.get_data() == again.get_data() and first.mimetype == "application/json"
    other = post(client, {**TICKET, "subject": "Different"}, headers=h)
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_conflict"
    assert count(app) == 1


def test_idempotency_keys_are_scoped_to_the_visitor(app):
    a, b = app.test_client(), app.test_client()
    h = {"Idempotency-Key": "same"}
    assert post(a, TICKET, headers=h).status_code == 201
    assert post(b, {**TICKET, "subject": "B"}, headers=h).status_code == 201
    assert count(app) == 2


def test_expired_idempotency_key_is_reusable(app, client):
    h = {"Idempotency-Key": "old"}
    post(client, TICKET, headers=h)
    with app.extensions["prefill"].db.begin() as conn:
        conn.execute(text("UPDATE idempotency_keys SET created_at = 0"))
    r = post(client, {**TICKET, "subject": "new"}, headers=h)
    assert r.status_code == 201 and count(app) == 2


def test_concurrent_duplicates_store_one_row(app):
    token = app.test_client().post("/api/session").json["sessionToken"]
    h = {"Authorization": f"Bearer {token}", "Idempotency-Key": "race"}
    results, barrier = [], threading.Barrier(8)

    def go():
        c = app.test_client()
        barrier.wait()
        r = post(c, TICKET, headers=h)
        results.append((r.status_code, r.json.get("id")))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {s for s, _ in results} == {201}
    assert len({i for _, i in results}) == 1
    assert count(app) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\x01key"])
def test_bad_idempotency_key(client, key):
    r = post(client, TICKET, headers={"Idempotency-Key": key})
    assert r.status_code == 400 and "Idempotency-Key" in r.json["error"]["fields"]


# -- history and linking ----------------------------------------------------
def ids(c, **params):
    r = c.get("/api/submissions", query_string=params)
    assert r.status_code == 200
    return [i["id"] for i in r.json["items"]]


def test_anonymous_history_links_to_user_on_verified_sign_in(verified_app):
    c = verified_app.test_client()
    anon_id = post(c, TICKET).json["id"]
    assert ids(c) == [anon_id]
    c.post("/api/identify", json={"userId": "u1", **proof("u1")})
    mine = post(c, TICKET).json["id"]
    assert ids(c) == [mine, anon_id]
    other_device = verified_app.test_client()
    other_device.post("/api/identify", json={"userId": "u1", **proof("u1")})
    assert ids(other_device) == [mine, anon_id]
    c.post("/api/reset")
    assert ids(c) == []  # a shared computer must not show the last user's tickets
    stranger = verified_app.test_client()
    post(stranger, TICKET)
    assert anon_id not in ids(stranger) and mine not in ids(stranger)


def test_unverified_claims_never_enter_a_verified_history(make_app):
    open_app = make_app()  # no IDENTITY_SECRET: claims accepted unverified
    mallory = open_app.test_client()
    mallory.post("/api/identify", json={"userId": "victim"})
    forged = post(mallory, TICKET).json["id"]
    secure = make_app(IDENTITY_SECRET="test-identity-secret-0123456789abcdef0123")
    victim = secure.test_client()
    victim.post("/api/identify", json={"userId": "victim", **proof("victim")})
    assert forged not in ids(victim)
    assert ids(mallory) == [forged]  # the claimer still sees what it sent itself


def test_history_pagination(client):
    made = [post(client, {**TICKET, "subject": f"s{i}"}).json["id"] for i in range(5)]
    r = client.get("/api/submissions?limit=2").json
    seen = [i["id"] for i in r["items"]]
    while r["nextCursor"]:
        r = client.get(f"/api/submissions?limit=2&cursor={r['nextCursor']}").json
        seen += [i["id"] for i in r["items"]]
    assert sorted(seen) == sorted(made) and len(seen) == 5


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=!!!"])
def test_history_bad_params(client, query):
    r = client.get(f"/api/submissions?{query}")
    assert r.status_code == 400 and r.json["error"]["code"] == "validation_failed"


# -- the HTML form ----------------------------------------------------------
def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)


def test_html_post_success_redirects_to_thanks(app, client):
    client.post("/api/identify", json={"userId": "u1", "email": "known@example.com"})
    html = client.get("/forms/support_ticket").get_data(as_text=True)
    r = client.post("/forms/support_ticket", data={
        "csrf_token": csrf_of(html), "email": "tampered@evil.test", "subject": "S", "priority": "high",
        "message": "M"})
    assert r.status_code == 303 and "/forms/support_ticket/thanks?ref=sub_" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    ref = re.search(r'class="reference">(sub_[0-9a-f]+)<', page).group(1)
    item = client.get("/api/submissions").json["items"][0]
    assert item["id"] == ref and item["values"]["email"] == "known@example.com"


@pytest.mark.parametrize("token", [None, "", "0" * 40])
def test_html_post_csrf_missing_or_wrong(app, client, token):
    client.get("/forms/support_ticket")
    data = {"subject": "S", "priority": "high", "message": "M", "email": "a@b.co"}
    if token is not None:
        data["csrf_token"] = token
    r = client.post("/forms/support_ticket", data=data)
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    assert 'data-code="csrf_failed"' in r.get_data(as_text=True)
    assert 'value="S"' in r.get_data(as_text=True)  # input kept
    assert count(app) == 0


def test_html_csrf_is_bound_to_the_session(app):
    a, b = app.test_client(), app.test_client()
    token_a = csrf_of(a.get("/forms/support_ticket").get_data(as_text=True))
    b.get("/forms/support_ticket")
    r = b.post("/forms/support_ticket", data={"csrf_token": token_a, "email": "a@b.co", "subject": "S",
                                              "priority": "high", "message": "M"})
    assert r.status_code == 400 and count(app) == 0


def test_html_post_errors_rerender_with_messages_and_input(app, client):
    client.post("/api/identify", json={"userId": "u1", "email": "known@example.com"})
    html = client.get("/forms/support_ticket?embed=1").get_data(as_text=True)
    r = client.post("/forms/support_ticket?embed=1", data={
        "csrf_token": csrf_of(html), "email": "evil@x.test", "subject": "Kept subject", "priority": "critical"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-code="validation_failed"' in page
    assert 'value="Kept subject"' in page and 'value="known@example.com"' in page and "evil@x.test" not in page
    assert re.search(r'id="priority-errors"><li>Not a valid choice', page)
    assert re.search(r'id="message-errors"><li>This field is required', page)
    assert 'class="embed"' in page and count(app) == 0


def test_a_double_post_of_one_html_form_stores_one_submission(app, client):
    html = client.get("/forms/support_ticket").get_data(as_text=True)
    csrf = csrf_of(html)
    form_key = re.search(r'name="form_key" value="([A-Za-z0-9_-]+)"', html).group(1)
    data = {"csrf_token": csrf, "form_key": form_key, "email": "a@b.co", "subject": "Hi", "priority": "normal",
            "message": "twice"}
    first, second = client.post("/forms/support_ticket", data=data), client.post("/forms/support_ticket", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]  # the same thanks page
    with app.extensions["prefill"].db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar_one() == 1
    changed = client.post("/forms/support_ticket", data={**data, "message": "edited"})
    assert changed.status_code == 409 and "already sent" in changed.get_data(as_text=True)
    again = client.get("/forms/support_ticket").get_data(as_text=True)
    new_key = re.search(r'name="form_key" value="([A-Za-z0-9_-]+)"', again).group(1)
    assert new_key != form_key  # every view of the form is a new intent
    assert client.post("/forms/support_ticket", data={**data, "form_key": new_key}).status_code == 303
    with app.extensions["prefill"].db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar_one() == 2


def test_racing_double_posts_store_one_submission(app):
    import threading

    c = app.test_client()
    html = c.get("/forms/support_ticket").get_data(as_text=True)
    data = {"csrf_token": csrf_of(html),
            "form_key": re.search(r'name="form_key" value="([A-Za-z0-9_-]+)"', html).group(1),
            "email": "a@b.co", "subject": "Hi", "priority": "normal", "message": "race"}
    cookie = c.get_cookie("prefill_session").value
    locations = []

    def post():
        other = app.test_client()
        other.set_cookie("prefill_session", cookie)
        locations.append(other.post("/forms/support_ticket", data=data).headers.get("Location"))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(locations)) == 1 and locations[0]
    with app.extensions["prefill"].db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar_one() == 1
