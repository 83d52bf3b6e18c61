"""The admin API: authentication, export (JSON and CSV), trusted metadata, erasure."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from tests.conftest import proof

ADMIN = {"Authorization": "Bearer admin-key"}
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


def submit(c, **values):
    r = c.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, **values}})
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_admin_off_without_key(client):
    r = client.get("/api/admin/submissions", headers=ADMIN)
    assert r.status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "admin-key"},
                                     {"Authorization": "Basic admin-key"}])
def test_admin_wrong_key_is_401(verified_app, headers):
    c = verified_app.test_client()
    for method, path in (("get", "/api/admin/submissions"), ("put", "/api/admin/users/u1"),
                         ("delete", "/api/admin/users/u1"), ("get", "/api/admin/webhooks/deliveries")):
        r = getattr(c, method)(path, headers=headers, json={"metadata": {}})
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_admin_list_items_and_filters(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "u1@x.co", "name": "Ann", **proof("u1")})
    first = submit(c, email="ignored@x.co")
    other = verified_app.test_client()
    second = submit(other)
    a = verified_app.test_client().get("/api/admin/submissions", headers=ADMIN)
    assert a.status_code == 200
    items = a.json["items"]
    assert [i["id"] for i in items] == [second, first]
    assert set(items[0]) == {"id", "form", "args", "values", "userId", "visitorId", "verified", "prefilled",
                             "changed", "sources", "createdAt"}
    mine = next(i for i in items if i["id"] == first)
    assert (mine["userId"], mine["verified"], mine["values"]["email"]) == ("u1", True, "u1@x.co")
    assert mine["prefilled"] == ["email", "name"] and mine["changed"] == ["name"]
    assert mine["sources"]["email"] == mine["sources"]["name"] == "claimed"  # identify's own claims, signed or not
    admin = verified_app.test_client()
    assert [i["id"] for i in admin.get("/api/admin/submissions?userId=u1", headers=ADMIN).json["items"]] == [first]
    assert admin.get("/api/admin/submissions?form=refund", headers=ADMIN).json["items"] == []
    assert len(admin.get("/api/admin/submissions?since=2000-01-01", headers=ADMIN).json["items"]) == 2
    assert admin.get("/api/admin/submissions?since=2999-01-01T00:00:00Z", headers=ADMIN).json["items"] == []
    page = admin.get("/api/admin/submissions?limit=1", headers=ADMIN).json
    assert len(page["items"]) == 1 and page["nextCursor"]
    rest = admin.get(f"/api/admin/submissions?limit=1&cursor={page['nextCursor']}", headers=ADMIN).json
    assert [i["id"] for i in rest["items"]] == [first] and rest["nextCursor"] is None
    bad = admin.get("/api/admin/submissions?since=yesterday", headers=ADMIN)
    assert bad.status_code == 400 and "since" in bad.json["error"]["fields"]


def test_admin_csv_streams_every_row_escaping_formulas(verified_app):
    c = verified_app.test_client()
    for i in range(3):
        submit(c, subject=f"s{i}")
    submit(c, subject="=HYPERLINK(\"http://evil\")", message="+1", name="@me")
    c.post("/api/forms/open_form/submissions", json={"values": {"email": "o@x.co", "notes": "-2"}})
    r = c.get("/api/admin/submissions?format=csv&limit=1", headers=ADMIN)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert header[:10] == ["id", "form", "args", "userId", "visitorId", "verified", "prefilled", "changed",
                           "sources", "createdAt"]
    assert {"values.subject", "values.message", "values.notes", "values.email"} <= set(header)
    assert len(body) == 5  # limit does not apply to CSV
    cells = [cell for row in body for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells and "'+1" in cells and "'@me" in cells and "'-2" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_put_trusted_metadata_unlocks_at_next_request(verified_app):
    c = verified_app.test_client()
    c.post("/api/identify", json={"userId": "u1", "metadata": {"plan": "enterprise"}, **proof("u1")})
    r = c.post("/api/forms/support_ticket/submissions",
               json={"values": {**TICKET, "priority": "critical"}})
    assert r.status_code == 422
    a = verified_app.test_client().put("/api/admin/users/u1", headers=ADMIN,
                                       json={"metadata": {"plan": "enterprise", "apiKey": "K-12345678"}})
    assert a.status_code == 200 and a.json["trustedKeys"] == ["plan"] and "K-12345678" not in a.get_data(as_text=True)
    r = c.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, "priority": "critical"}})
    assert r.status_code == 201
    assert c.get("/api/me").json["trustedKeys"] == ["plan"]


@pytest.mark.parametrize("body", [{}, {"metadata": "x"}, {"metadata": {"a": "x" * 17000}}])
def test_put_bad_body(verified_app, body):
    r = verified_app.test_client().put("/api/admin/users/u1", headers=ADMIN, json=body)
    assert r.status_code == 400


def _tables(app, user_id):
    with app.extensions["prefill"].db.connect() as conn:
        return {
            "users": conn.execute(text("SELECT COUNT(*) FROM users WHERE user_id = :u"), {"u": user_id}).scalar(),
            "subs": conn.execute(text("SELECT COUNT(*) FROM submissions WHERE user_id = :u OR owner_id = :u"),
                                 {"u": user_id}).scalar(),
            "sessions": conn.execute(text("SELECT COUNT(*) FROM sessions WHERE user_id = :u"), {"u": user_id}).scalar(),
            "keys": conn.execute(text("SELECT COUNT(*) FROM idempotency_keys")).scalar(),
            "deliveries": conn.execute(text("SELECT COUNT(*) FROM webhook_deliveries")).scalar(),
            "all_subs": conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar(),
        }


def test_erasure_leaves_nothing_behind(make_app):
    app = make_app(IDENTITY_SECRET="test-identity-secret-0123456789abcdef0123", ADMIN_API_KEY="admin-key",
                   WEBHOOK_URL="http://127.0.0.1:9/hook", WEBHOOK_SECRET="whsec")
    c = app.test_client()
    anon = submit(c)  # anonymous, linked on sign-in
    c.post("/api/identify", json={"userId": "gone", "email": "gone@x.co", **proof("gone", plan="pro")})
    c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers={"Idempotency-Key": "k"})
    keep = submit(app.test_client())  # someone else's
    assert _tables(app, "gone")["subs"] == 2
    r = app.test_client().delete("/api/admin/users/gone", headers=ADMIN)
    assert r.status_code == 204
    left = _tables(app, "gone")
    assert left == {"users": 0, "subs": 0, "sessions": 0, "keys": 0, "deliveries": 1, "all_subs": 1}
    with app.extensions["prefill"].db.connect() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT id FROM submissions"))}
        dump = " ".join(str(x) for row in conn.execute(text("SELECT * FROM sessions")) for x in row)
    assert ids == {keep} and anon not in ids and "gone@x.co" not in dump
    me = c.get("/api/me").json
    assert me["userId"] is None and me["userMetadata"] == {}
    assert c.get("/api/submissions").json["items"] == []
    assert app.test_client().delete("/api/admin/users/gone", headers=ADMIN).status_code == 204


def test_deliveries_listing_filters_status(make_app):
    app = make_app(ADMIN_API_KEY="admin-key", WEBHOOK_URL="http://127.0.0.1:9/hook", WEBHOOK_SECRET="whsec")
    c = app.test_client()
    sid = submit(c)
    r = c.get("/api/admin/webhooks/deliveries?status=pending", headers=ADMIN).json
    assert [i["submissionId"] for i in r["items"]] == [sid]
    item = r["items"][0]
    assert set(item) == {"id", "submissionId", "status", "attempts", "lastError", "nextAttemptAt", "deliveredAt"}
    assert c.get("/api/admin/webhooks/deliveries?status=delivered", headers=ADMIN).json["items"] == []
    assert c.get("/api/admin/webhooks/deliveries?status=bogus", headers=ADMIN).status_code == 400
