"""The factory, start-up errors and the command line."""

from __future__ import annotations

import json

import pytest

from app import create_app


def test_unimportable_provider_module_stops_start_up(sqlite_url):
    with pytest.raises(RuntimeError, match="could not import provider module 'no_such_module_xyz'"):
        create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                    "PREFILL_PROVIDER_MODULES": "no_such_module_xyz"})


def test_duplicate_provider_name_stops_start_up_naming_both(sqlite_url):
    with pytest.raises(ValueError) as exc:
        create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                    "PREFILL_PROVIDER_MODULES": "tests.providers_fixture,tests.providers_dup"})
    assert "tests.providers_fixture.all_types" in str(exc.value)
    assert "tests.providers_dup.my_all_types" in str(exc.value)


def test_demo_forms_only_in_the_demo_and_an_authors_form_replaces_one(sqlite_url, caplog):
    base = {"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False}
    production = create_app({**base, "PREFILL_PROVIDER_MODULES": "tests.providers_fixture"})
    names = {f["name"] for f in production.test_client().get("/api/forms").json["forms"]}
    assert "support_ticket" not in names and "refund" not in names and "all_types" in names
    for flag in ("PREFILL_DEMO", "PREFILL_BUILTIN_FORMS"):
        app = create_app({**base, flag: True})
        assert {f["name"] for f in app.test_client().get("/api/forms").json["forms"]} >= {"support_ticket", "refund"}
    with caplog.at_level("INFO"):
        demo = create_app({**base, "PREFILL_DEMO": True, "PREFILL_PROVIDER_MODULES": "tests.providers_dup"})
    forms = {f["name"]: f["title"] for f in demo.test_client().get("/api/forms").json["forms"]}
    assert forms["support_ticket"] == "Our own support form" and "refund" in forms
    assert "tests.providers_dup.my_support_ticket replaces the built-in demo form" in caplog.text


def test_env_config_and_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    monkeypatch.setenv("MAX_BODY_BYTES", "1234")
    monkeypatch.setenv("SENSITIVE_KEYS_ALLOW", "author, Authority")
    app = create_app()
    assert app.config["MAX_BODY_BYTES"] == 1234 == app.config["MAX_CONTENT_LENGTH"]
    assert app.config["FRAME_ANCESTORS"] == "'self'" and app.config["SESSION_TTL_DAYS"] == 30
    assert app.extensions["prefill"].sensitive.allow == frozenset({"author", "authority"})
    assert (tmp_path / "env.sqlite3").exists()  # migrated at start
    assert app.test_client().get("/api/forms").status_code == 200


def test_preview_shows_a_form_as_any_user(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prefill", "preview", "support_ticket", "--user-id", "u1",
                                 "--metadata", '{"email": "a@b.co", "plan": "enterprise", "apiKey": "K-1234567"}',
                                 "--trusted", '{"plan": "enterprise"}', "--arg", "subject=Hi"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["email"]["value"] == "a@b.co" and fields["email"]["disabled"] is True
    assert fields["subject"]["value"] == "Hi"
    assert [o["value"] for o in fields["priority"]["options"]] == ["critical", "high", "normal"]
    assert "K-1234567" not in result.output
    html = runner.invoke(args=["prefill", "preview", "support_ticket", "--html"])
    assert html.exit_code == 0 and '<form method="post"' in html.output
    missing = runner.invoke(args=["prefill", "preview", "nope"])
    assert missing.exit_code == 1 and "unknown_form" in missing.output


def test_worker_once_delivers(make_app):
    from tests.test_webhooks import Receiver

    receiver = Receiver()
    try:
        app = make_app(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="s")
        app.test_client().post("/api/forms/support_ticket/submissions", json={"values": {
            "email": "a@b.co", "subject": "s", "priority": "low", "message": "m"}})
        result = app.test_cli_runner().invoke(args=["prefill", "worker", "--once"])
        assert result.exit_code == 0 and "processed 1" in result.output
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


def test_worker_refuses_without_url(app):
    result = app.test_cli_runner().invoke(args=["prefill", "worker", "--once"])
    assert result.exit_code != 0 and "WEBHOOK_URL" in str(result.exception)


def test_migrate_command(app):
    result = app.test_cli_runner().invoke(args=["prefill", "migrate"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_cleanup_deletes_only_what_expired(app):
    from sqlalchemy import text

    old, fresh = app.test_client(), app.test_client()
    for c in (old, fresh):
        c.post("/api/forms/support_ticket/submissions", headers={"Idempotency-Key": "k"}, json={"values": {
            "email": "a@b.co", "subject": "s", "priority": "low", "message": "m"}})
    db = app.extensions["prefill"].db
    with db.begin() as conn:
        visitor = conn.execute(text("SELECT visitor_id FROM sessions LIMIT 1")).scalar()
        conn.execute(text("UPDATE sessions SET last_seen = 0 WHERE visitor_id = :v"), {"v": visitor})
        conn.execute(text("UPDATE idempotency_keys SET created_at = 0 WHERE visitor_id = :v"), {"v": visitor})
    result = app.test_cli_runner().invoke(args=["prefill", "cleanup"])
    assert result.exit_code == 0
    assert "deleted 1 expired sessions, 1 old idempotency keys and 0 unclaimed uploads" in result.output
    with db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM idempotency_keys")).scalar() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar() == 2  # submissions are kept
