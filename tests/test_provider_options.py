"""Provider options: ``args=`` (a marshmallow schema, checked before the
provider runs) and ``requires=`` (identified / verified), on every surface."""

from __future__ import annotations

import pytest

from schema_providers import provider

from . import providers_fixture
from .conftest import proof


@pytest.fixture(autouse=True)
def _no_calls():
    providers_fixture.CALLS.clear()


@pytest.mark.parametrize(("query", "field"), [
    ("", "orderId"), ("?orderId=bad%20id", "orderId"), ("?orderId=AB-123&amount=lots", "amount"),
    ("?orderId=AB-123&extra=1", "extra"),
])
def test_invalid_args_are_400_naming_the_argument_before_the_provider_runs(client, query, field):
    r = client.get(f"/api/forms/with_args{query}")
    assert r.status_code == 400 and r.json["error"]["code"] == "validation_failed"
    assert field in r.json["error"]["fields"] and "with_args" in r.json["error"]["message"]
    h = client.get(f"/forms/with_args{query}")
    assert h.status_code == 400 and h.mimetype == "text/html"
    assert providers_fixture.CALLS == []


def test_valid_args_reach_the_provider_loaded(client):
    r = client.get("/api/forms/with_args?orderId=AB-123&amount=5")
    assert r.status_code == 200
    assert providers_fixture.CALLS == [{"orderId": "AB-123", "amount": 5}]
    assert {f["name"]: f["value"] for f in r.json["fields"]} == {"orderId": "AB-123", "amount": 5}


def test_submitting_with_invalid_args_stores_nothing(app, client):
    r = client.post("/api/forms/with_args/submissions", json={"args": {"orderId": "no!"}, "values": {}})
    assert r.status_code == 400 and "orderId" in r.json["error"]["fields"]
    ok = client.post("/api/forms/with_args/submissions", json={"args": {"orderId": "AB-1"},
                                                                "values": {"orderId": "AB-1"}})
    assert ok.status_code == 201 and ok.json["values"]["orderId"] == "AB-1"
    assert providers_fixture.CALLS == [{"orderId": "AB-1", "amount": None}]


@pytest.mark.parametrize(("form", "identify", "status"), [
    ("identified_only", None, 401), ("identified_only", "claimed", 200), ("identified_only", "verified", 200),
    ("verified_only", None, 401), ("verified_only", "claimed", 401), ("verified_only", "verified", 200),
])
def test_requires_refuses_others_with_401(verified_app, form, identify, status):
    c = verified_app.test_client()
    if identify == "claimed":  # verification on: a claim needs a proof, so sign in on an unverified app
        c = verified_app.test_client()
        verified_app.extensions["prefill"].keys.kidless.clear()  # this app now accepts unverified claims
        c.post("/api/identify", json={"userId": "u1"})
    elif identify == "verified":
        c.post("/api/identify", json={"userId": "u1", **proof("u1")})
    r = c.get(f"/api/forms/{form}")
    assert r.status_code == status
    if status == 401:
        assert r.json["error"]["code"] == "identity_required"
        page = c.get(f"/forms/{form}")
        assert page.status_code == 401 and "sign in" in page.get_data(as_text=True)
        sub = c.post(f"/api/forms/{form}/submissions", json={"values": {"note": "x"}})
        assert sub.status_code == 401


def test_bad_options_stop_start_up():
    with pytest.raises(ValueError, match="requires"):
        provider("x", requires="admin")
    with pytest.raises(TypeError, match="args"):
        provider("x", args={"orderId": str})


def test_a_slow_provider_is_a_504_not_a_hung_request(client):
    import time

    for form in ("slow", "slow_async"):
        started = time.perf_counter()
        r = client.get(f"/api/forms/{form}")
        took = time.perf_counter() - started
        assert r.status_code == 504 and r.json["error"]["code"] == "provider_timeout", form
        assert "0.3 s" in r.json["error"]["message"] and took < 0.9, (form, took)
        assert client.get(f"/forms/{form}").status_code == 504
    started = time.perf_counter()
    assert client.get("/api/forms/all_types").status_code == 200  # others are served meanwhile
    assert time.perf_counter() - started < 0.5


def test_timeout_options():
    with pytest.raises(ValueError, match="timeout"):
        provider("x", timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        provider("x", timeout=True)
    fn = provider("x", timeout=None)(lambda args, user: {"fields": [{"name": "a"}]})
    assert fn.timeout is None and provider("y")(lambda a, u: {}).timeout == 2.0
