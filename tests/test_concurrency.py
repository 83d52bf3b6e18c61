"""Concurrent merges into one profile or one session lose no key."""

from __future__ import annotations

import threading

from tests.conftest import proof


def _hammer(app, token: str, path: str, body_for, n: int = 12) -> None:
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def go(i: int) -> None:
        c = app.test_client()
        barrier.wait()
        r = c.post(path, json=body_for(i), headers={"Authorization": f"Bearer {token}"})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * n


def test_concurrent_update_user_merges_every_key_into_the_profile(verified_app):
    c = verified_app.test_client()
    token = c.post("/api/session").json["sessionToken"]
    h = {"Authorization": f"Bearer {token}"}
    assert c.post("/api/identify", json={"userId": "u1", **proof("u1")}, headers=h).status_code == 200
    _hammer(verified_app, token, "/api/user", lambda i: {"userId": "u1", "metadata": {f"k{i}": i}})
    meta = c.get("/api/me", headers=h).json["userMetadata"]
    assert {f"k{i}" for i in range(12)} <= set(meta)


def test_concurrent_update_user_unverified_and_session_metadata(client, app):
    token = client.post("/api/session").json["sessionToken"]
    h = {"Authorization": f"Bearer {token}"}
    client.post("/api/identify", json={"userId": "u1"}, headers=h)
    _hammer(app, token, "/api/user", lambda i: {"userId": "u1", "metadata": {f"k{i}": i}})
    _hammer(app, token, "/api/session/metadata", lambda i: {"metadata": {f"s{i}": i}})
    me = client.get("/api/me", headers=h).json
    assert {f"k{i}" for i in range(12)} <= set(me["userMetadata"])
    assert {f"s{i}" for i in range(12)} == set(me["sessionMetadata"])
