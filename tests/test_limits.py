"""Rate limits: 429 ``rate_limited`` with Retry-After, per session (a request
without one: only the address's ceiling), in memory and on the real local Redis shared by two
app instances. The per-address ceiling: test_limit_keys.py."""

from __future__ import annotations

import uuid

import pytest
import redis

REDIS = "redis://127.0.0.1:6379"
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


def limited_app(make_app, **config):
    return make_app(RATELIMIT_ENABLED=True, RATELIMIT_IDENTITY="3/minute", RATELIMIT_SUBMIT="2/minute", **config)


def assert_429(r):
    assert r.status_code == 429, r.get_data(as_text=True)[:200]
    assert 1 <= int(r.headers["Retry-After"]) <= 61  # the window is a minute
    if r.mimetype == "application/json":
        assert r.json["error"]["code"] == "rate_limited"


@pytest.fixture
def redis_prefix():
    prefix = f"prefill-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def test_new_visitors_do_not_share_one_sessions_budget(make_app):
    app = limited_app(make_app)  # 3/minute per session, so 30/minute per address
    for _ in range(10):  # ten new visitors behind one address, each one call that makes its session
        assert app.test_client().post("/api/identify", json={"userId": "u1"}).status_code == 200


def test_identity_calls_without_a_session_count_against_the_address_ceiling(make_app):
    app = limited_app(make_app, RATELIMIT_IDENTITY_ADDRESS="3/minute")
    for _ in range(3):
        c = app.test_client()  # no session yet: the address counts
        assert c.post("/api/identify", json={"userId": "u1"}).status_code == 200
    r = app.test_client().post("/api/identify", json={"userId": "u1"})
    assert_429(r)
    other = app.test_client().post("/api/identify", json={"userId": "u1"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 200


def test_one_session_is_limited_from_any_address(make_app):
    app = limited_app(make_app)
    token = app.test_client().post("/api/session", environ_base={"REMOTE_ADDR": "10.9.9.9"}).json["sessionToken"]
    h = {"Authorization": f"Bearer {token}"}
    for i in range(3):
        r = app.test_client().post("/api/session/metadata", json={"metadata": {"i": i}}, headers=h,
                                   environ_base={"REMOTE_ADDR": f"10.0.1.{i}"})
        assert r.status_code == 200
    r = app.test_client().post("/api/session/metadata", json={"metadata": {"i": 9}}, headers=h,
                               environ_base={"REMOTE_ADDR": "10.0.1.99"})
    assert_429(r)


def test_submissions_are_limited_on_both_surfaces(make_app):
    app = limited_app(make_app)
    c = app.test_client()
    h = {"Authorization": f"Bearer {c.post('/api/session').json['sessionToken']}"}
    for _ in range(2):
        assert c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers=h).status_code == 201
    assert_429(c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}, headers=h))
    html = app.test_client()
    html.environ_base["REMOTE_ADDR"] = "10.0.2.1"
    html.get("/forms/support_ticket")
    for _ in range(2):
        html.post("/forms/support_ticket", data={"csrf_token": "x", **TICKET})
    r = html.post("/forms/support_ticket", data={"csrf_token": "x", **TICKET})
    assert_429(r)
    assert r.mimetype == "text/html"


def test_reads_are_not_limited(make_app):
    app = limited_app(make_app)
    c = app.test_client()
    for _ in range(20):
        assert c.get("/api/forms/support_ticket").status_code == 200


def test_two_instances_share_one_limit_on_redis(make_app, redis_prefix):
    config = {"RATELIMIT_STORAGE_URI": REDIS, "RATELIMIT_KEY_PREFIX": redis_prefix,
              "RATELIMIT_IDENTITY_ADDRESS": "3/minute"}
    one, two = limited_app(make_app, **config), limited_app(make_app, **config)
    assert one.test_client().post("/api/identify", json={"userId": "a"}).status_code == 200
    assert two.test_client().post("/api/identify", json={"userId": "b"}).status_code == 200
    assert one.test_client().post("/api/identify", json={"userId": "c"}).status_code == 200
    assert_429(two.test_client().post("/api/identify", json={"userId": "d"}))
    assert_429(one.test_client().post("/api/identify", json={"userId": "e"}))
    assert any(redis.Redis.from_url(REDIS).scan_iter(f"*{redis_prefix}*"))  # the count lives in Redis


def test_an_unreachable_limit_store_fails_open(make_app):
    app = limited_app(make_app, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9")  # nothing listens there
    c = app.test_client()
    for _ in range(5):
        assert c.post("/api/identify", json={"userId": "u1"}).status_code == 200


def test_identity_endpoints_share_one_budget(make_app):
    app = limited_app(make_app)  # 3 identity calls a minute per session, whichever endpoint
    c = app.test_client()
    h = {"Authorization": f"Bearer {c.post('/api/session').json['sessionToken']}"}  # a bearer token: no rotation
    assert c.post("/api/identify", json={"userId": "u1"}, headers=h).status_code == 200
    assert c.post("/api/session/metadata", json={"metadata": {"a": 1}}, headers=h).status_code == 200
    assert c.post("/api/user", json={"userId": "u1"}, headers=h).status_code == 200
    assert_429(c.post("/api/reset", headers=h))
    assert_429(c.post("/api/update", json={"session": {"metadata": {}}}, headers=h))
