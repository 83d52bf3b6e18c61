"""Rate limits count per session first; an address has a much higher ceiling
(hardening round 3, #10): one office behind a NAT, or a whole site behind a
load balancer without ``TRUSTED_PROXIES``, no longer shares one user's budget."""

from __future__ import annotations

import logging

OFFICE = {"REMOTE_ADDR": "198.51.100.7"}


def sessions(app, n):
    """``n`` live sessions, made earlier (as over a working day)."""
    with app.app_context():
        return [app.extensions["prefill"].sessions.create(None)[0] for _ in range(n)]


def call(app, token, i=0):
    return app.test_client().post("/api/session/metadata", json={"metadata": {"i": i}},
                                  headers={"Authorization": f"Bearer {token}"}, environ_base=OFFICE)


def assert_429(r):
    assert r.status_code == 429, r.get_data(as_text=True)[:200]
    assert r.json["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1


def test_forty_sessions_behind_one_address_each_get_their_own_budget(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_IDENTITY="3/minute", RATELIMIT_IDENTITY_ADDRESS="200/minute")
    tokens = sessions(app, 40)
    for token in tokens:
        for i in range(3):
            r = call(app, token, i)
            assert r.status_code == 200, (tokens.index(token), i, r.get_data(as_text=True)[:200])
    assert_429(call(app, tokens[7], 3))  # one session past its own budget
    assert call(app, sessions(app, 1)[0]).status_code == 200  # and nobody else


def test_the_address_ceiling_still_stops_a_flood_of_fresh_sessions(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_IDENTITY="3/minute", RATELIMIT_IDENTITY_ADDRESS="20/minute")
    for token in sessions(app, 20):
        assert call(app, token).status_code == 200
    assert_429(call(app, sessions(app, 1)[0]))
    for bogus in ("made-up-1", "made-up-2"):  # tokens that name no session count too
        assert_429(call(app, bogus))
    other = app.test_client().post("/api/session/metadata", json={"metadata": {}},
                                   environ_base={"REMOTE_ADDR": "10.1.1.1"},
                                   headers={"Authorization": f"Bearer {sessions(app, 1)[0]}"})
    assert other.status_code == 200


def test_the_ceiling_defaults_to_ten_times_the_session_budget(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_IDENTITY="2/minute;50/hour")  # ceiling: 20/minute;500/hour
    for token in sessions(app, 10):
        assert [call(app, token, i).status_code for i in range(2)] == [200, 200]
    assert_429(call(app, sessions(app, 1)[0]))


def test_requests_without_a_session_count_only_against_the_address_ceiling(make_app):
    """New visitors behind one address each make their session (the black-box
    review: they were held to one session's 3/minute), up to the ceiling."""
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_IDENTITY="3/minute")  # ceiling: 30/minute
    for _ in range(30):
        assert app.test_client().post("/api/session", environ_base=OFFICE).status_code == 201
    assert_429(app.test_client().post("/api/session", environ_base=OFFICE))
    (token,) = sessions(app, 1)
    assert_429(call(app, token))  # the ceiling is the address's: its sessions wait too
    assert app.test_client().post("/api/session", environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 201


def forwarded(app, n, value="203.0.113.99, 10.0.0.5"):
    for _ in range(n):
        r = app.test_client().post("/api/session", headers={"X-Forwarded-For": value},
                                   environ_base={"REMOTE_ADDR": "10.0.0.5"})
        assert r.status_code == 201


def proxy_warnings(caplog):
    return [r for r in caplog.records if r.levelno == logging.WARNING and "TRUSTED_PROXIES" in r.getMessage()]


def test_forwarded_requests_without_trusted_proxies_warn_once(make_app, caplog):
    app = make_app(RATELIMIT_ENABLED=True)
    with caplog.at_level(logging.WARNING):
        app.test_client().post("/api/session", environ_base={"REMOTE_ADDR": "10.0.0.5"})
        assert proxy_warnings(caplog) == []  # no header, no warning
        forwarded(app, 5)
    (record,) = proxy_warnings(caplog)
    message = record.getMessage()
    assert "X-Forwarded-For" in message and "10.0.0.5" in message  # the balancer's address: what everyone counts as
    assert "203.0.113.99" not in message  # never the header's value
    assert "203.0.113.99" not in caplog.text


def test_no_warning_with_trusted_proxies_and_each_app_warns_for_itself(make_app, caplog):
    with caplog.at_level(logging.WARNING):
        forwarded(make_app(RATELIMIT_ENABLED=True, TRUSTED_PROXIES=1), 3)
        assert proxy_warnings(caplog) == []
        forwarded(make_app(RATELIMIT_ENABLED=True), 2)
        forwarded(make_app(RATELIMIT_ENABLED=True), 2)
    assert len(proxy_warnings(caplog)) == 2
