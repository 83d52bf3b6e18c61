"""Limits on ad-hoc resolution and on failed admin keys (hardening round 3, #9):
a client-written schema is work the client chooses, and an admin key is a
secret worth guessing."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

REDIS = "redis://127.0.0.1:6379"
BIG = {"fields": [{"name": f"f{i}", "type": "select",
                   "options": [{"label": str(j), "value": str(j)} for j in range(50)]} for i in range(100)]}


def assert_429(r, mimetype="application/json"):
    assert r.status_code == 429, (r.status_code, r.get_data(as_text=True)[:200])
    assert 1 <= int(r.headers["Retry-After"]) <= 61 and r.mimetype == mimetype
    if mimetype == "application/json":
        assert r.json["error"]["code"] == "rate_limited"


@pytest.fixture
def adhoc_app(make_app):
    return make_app(RATELIMIT_ENABLED=True, ADHOC_FORMS=True, RATELIMIT_ADHOC="3/minute")


def bearer(app, addr="10.3.0.1"):
    with app.app_context():
        token = app.extensions["prefill"].sessions.create(None)[0]
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = addr
    return c, {"Authorization": f"Bearer {token}"}


def test_adhoc_resolution_is_limited_per_session(adhoc_app):
    c, auth = bearer(adhoc_app)
    for _ in range(3):
        assert c.post("/api/forms/resolve", headers=auth, json=BIG).status_code == 200
    assert_429(c.post("/api/forms/resolve", headers=auth, json=BIG))
    other, other_auth = bearer(adhoc_app)  # the same address, another session
    assert other.post("/api/forms/resolve", headers=other_auth, json=BIG).status_code == 200


def test_the_panels_adhoc_render_shares_that_budget(adhoc_app):
    c, auth = bearer(adhoc_app)
    data = {"prefill_schema": json.dumps(BIG)}
    assert c.post("/api/forms/resolve", headers=auth, json=BIG).status_code == 200
    for _ in range(2):
        assert c.post("/widget/adhoc/render?embed=1", headers=auth, data=data).status_code == 200
    r = c.post("/widget/adhoc/render?embed=1", headers=auth, data=data)
    assert_429(r, "text/html")
    assert 'data-code="rate_limited"' in r.get_data(as_text=True)
    assert_429(c.post("/api/forms/resolve", headers=auth, json=BIG))


def test_adhoc_resolution_has_an_address_ceiling(make_app):
    app = make_app(RATELIMIT_ENABLED=True, ADHOC_FORMS=True, RATELIMIT_ADHOC="3/minute",
                   RATELIMIT_ADHOC_ADDRESS="5/minute")
    answers = []
    for _ in range(6):
        c, auth = bearer(app)
        answers.append(c.post("/api/forms/resolve", headers=auth, json=BIG).status_code)
    assert answers == [200] * 5 + [429]


# -- the admin API -----------------------------------------------------------------------
@pytest.fixture
def admin_app(make_app):
    return make_app(RATELIMIT_ENABLED=True, ADMIN_API_KEY="the-right-admin-key", RATELIMIT_ADMIN_FAILURES="3/minute")


def admin(app, key, addr="192.0.2.10"):
    return app.test_client().get("/api/admin/submissions", headers={"Authorization": f"Bearer {key}"},
                                 environ_base={"REMOTE_ADDR": addr})


def test_failed_admin_keys_are_limited_per_address(admin_app):
    assert [admin(admin_app, f"guess-{i}").status_code for i in range(3)] == [401, 401, 401]
    assert_429(admin(admin_app, "guess-4"))
    # Over the limit, a request is refused before its key is compared: a guess in
    # that window is never tried, so the right key waits as well.
    assert_429(admin(admin_app, "the-right-admin-key"))
    assert admin(admin_app, "the-right-admin-key", addr="192.0.2.11").status_code == 200  # another address
    assert admin(admin_app, "guess-5", addr="192.0.2.11").status_code == 401


def test_successful_admin_requests_are_never_counted(admin_app):
    for _ in range(25):
        assert admin(admin_app, "the-right-admin-key").status_code == 200
    assert [admin(admin_app, f"guess-{i}").status_code for i in range(3)] == [401, 401, 401]
    assert_429(admin(admin_app, "guess-4"))


def test_admin_failures_are_not_limited_when_limits_are_off(make_app):
    app = make_app(RATELIMIT_ENABLED=False, ADMIN_API_KEY="the-right-admin-key", RATELIMIT_ADMIN_FAILURES="1/minute")
    assert [admin(app, "guess").status_code for _ in range(3)] == [401, 401, 401]


def test_admin_failures_are_shared_on_redis_and_fail_open_without_it(make_app):
    prefix = f"prefill-test-{uuid.uuid4().hex[:8]}"
    config = {"RATELIMIT_ENABLED": True, "ADMIN_API_KEY": "the-right-admin-key", "RATELIMIT_ADMIN_FAILURES": "2/minute"}
    try:
        one, two = (make_app(**config, RATELIMIT_STORAGE_URI=REDIS, RATELIMIT_KEY_PREFIX=prefix) for _ in range(2))
        assert [admin(one, "guess-1").status_code, admin(two, "guess-2").status_code] == [401, 401]
        assert_429(admin(one, "guess-3"))
        assert_429(admin(two, "guess-3"))
        assert any(redis.Redis.from_url(REDIS).scan_iter(f"*{prefix}*"))  # the count lives in Redis
    finally:
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
    down = make_app(**config, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9")  # nothing listens there
    assert [admin(down, f"guess-{i}").status_code for i in range(4)] == [401] * 4
    assert admin(down, "the-right-admin-key").status_code == 200
