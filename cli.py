"""``flask --app app prefill …``: the worker, migrations, the author tools
(``forms``, ``render``/``preview`` with ``--explain``, ``check``), and
``widget-version`` for the install snippet."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from forms.errors import IdentityRequired, InvalidArguments, PrefillError
from forms.explain import CASE_MISMATCH, explain
from forms.identity import identity_from


def _load_user(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: must hold a JSON object {{userId, userMetadata, trusted, sessionMetadata}}")
    return data


def _args(pairs: tuple[str, ...]) -> dict[str, str]:
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise click.BadParameter(f"--arg takes key=value, got {bad[0]!r}")
    return dict(p.split("=", 1) for p in pairs)


def render_command(app: Flask, form: str, data: dict[str, Any], args: dict[str, str], fmt: str,
                   with_explain: bool) -> None:
    st = app.extensions["prefill"]
    identity = identity_from(data)
    try:
        schema, resolved = st.engine.resolve_with_schema(form, args, identity)
    except PrefillError as exc:
        click.echo(json.dumps(exc.to_dict(), indent=2), err=True)
        sys.exit(1)
    notes = explain(schema, resolved, identity, st.sensitive) if with_explain else []
    if fmt == "html":
        from web.render.pages import hidden_inputs, render_form

        with app.test_request_context(f"/forms/{form}"):
            click.echo(render_form(resolved, hidden_inputs("preview", "preview"), embed=True))
        for note in notes:
            click.echo(_line(note), err=True)
    elif with_explain:
        click.echo(json.dumps({"form": resolved.to_json(), "explain": [n.to_json() for n in notes]}, indent=2))
    else:
        click.echo(json.dumps(resolved.to_json(), indent=2))


def _line(note: Any) -> str:
    state = ("filled" if note.filled else "empty") + (", locked" if note.locked else "")
    text = f"{note.name}: {state} — " + "; ".join(note.reasons)
    return text + "".join(f"\n  warning: {m}" for _, m in note.warnings)


def register_cli(app: Flask) -> None:
    group = AppGroup("prefill", help="Prefill commands.")

    @group.command("worker")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    def worker(once: bool) -> None:
        """Deliver webhooks from the outbox (run one or more, side by side)."""
        from webhooks.worker import Worker

        w = Worker.from_app(app)
        if once:
            click.echo(f"processed {w.run_once()}")
        else:
            click.echo(f"delivering to {w.url}")
            w.run_forever()

    @group.command("migrate")
    def migrate_cmd() -> None:
        """Bring the database schema up to date."""
        from store.db import migrate

        migrate(app.extensions["prefill"].db)
        click.echo("database is up to date")

    @group.command("cleanup")
    def cleanup() -> None:
        """Delete expired sessions and idempotency keys past 24 h (run it daily, e.g. from cron)."""
        st = app.extensions["prefill"]
        sessions = st.sessions.delete_expired()
        keys = st.submissions.delete_old_idempotency_keys()
        click.echo(f"deleted {sessions} expired sessions and {keys} old idempotency keys")

    @group.command("forms")
    def forms_cmd() -> None:
        """Every registered form and where it comes from."""
        for p in app.extensions["prefill"].registry:
            options = "".join([f" requires={p.requires}" if p.requires else "",
                               f" args={type(p.args).__name__}" if p.args is not None else ""])
            click.echo(f"{p.name}\t{p.title or ''}\t{p.where}{options}")

    @group.command("render")
    @click.argument("form")
    @click.option("--user", "user_file", default=None, help="A JSON file: {userId, userMetadata, trusted, "
                                                             "sessionMetadata}.")
    @click.option("--arg", "args", multiple=True, help="A form argument, key=value (repeatable).")
    @click.option("--format", "fmt", type=click.Choice(["json", "html"]), default="json")
    @click.option("--explain", "with_explain", is_flag=True, help="Say why each field was or was not filled "
                                                                 "and locked.")
    def render(form: str, user_file: str | None, args: tuple[str, ...], fmt: str, with_explain: bool) -> None:
        """FORM as a given identity sees it, without a database or a browser."""
        render_command(app, form, _load_user(user_file), _args(args), fmt, with_explain)

    @group.command("preview")
    @click.argument("form")
    @click.option("--user-id", default=None, help="The userId to resolve as.")
    @click.option("--metadata", default="{}", help="userMetadata as JSON (claimed).")
    @click.option("--trusted", default="{}", help="Trusted metadata as JSON (signed/admin-set).")
    @click.option("--session", "session_md", default="{}", help="sessionMetadata as JSON.")
    @click.option("--arg", "args", multiple=True, help="A query argument, key=value (repeatable).")
    @click.option("--html", "as_html", is_flag=True, help="Print the rendered HTML form instead of JSON.")
    @click.option("--explain", "with_explain", is_flag=True, help="Say why each field was or was not filled.")
    def preview(form: str, user_id: str | None, metadata: str, trusted: str, session_md: str,
                args: tuple[str, ...], as_html: bool, with_explain: bool) -> None:
        """Like `render`, with the identity given inline."""
        try:
            parsed = [json.loads(x) for x in (metadata, trusted, session_md)]
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}") from None
        data = {"userId": user_id, "userMetadata": parsed[0], "trusted": parsed[1], "sessionMetadata": parsed[2]}
        render_command(app, form, data, _args(args), "html" if as_html else "json", with_explain)

    @group.command("check")
    @click.option("--user", "user_files", multiple=True, help="Also check as this identity (JSON file; repeatable).")
    @click.option("--arg", "args", multiple=True, help="Arguments for every form, key=value (repeatable).")
    def check(user_files: tuple[str, ...], args: tuple[str, ...]) -> None:
        """Resolve every form for sample identities; report schema errors, provider
        exceptions and case-mismatched keys. Exit status 1 on any error (for CI)."""
        st = app.extensions["prefill"]
        samples: list[tuple[str, dict[str, Any]]] = [
            ("anonymous", {}),
            ("identified (claimed)", {"userId": "check-user", "verified": False,
                                      "userMetadata": {"email": "check@example.com", "name": "Check"}}),
            ("verified", {"userId": "check-user", "userMetadata": {"email": "check@example.com", "name": "Check"}}),
        ]
        for scope, key, values in sorted({c for p in st.registry for c in getattr(p.fn, "conditions", ())}):
            for value in values:  # each value a declared variant tests, as the attribute it reads
                attrs = {"trusted": {key: value}} if scope == "trusted" else {"userMetadata": {key: value}}
                samples.append((f"verified, {scope}.{key}={value}", {"userId": "check-user", **attrs}))
        samples += [(path, _load_user(path)) for path in user_files]
        errors = warnings = 0
        for p in st.registry:
            for label, data in samples:
                identity = identity_from(data)
                try:
                    schema, resolved = st.engine.resolve_with_schema(p.name, _args(args), identity)
                except IdentityRequired:
                    continue  # the form is not for this identity: expected
                except InvalidArguments as exc:
                    click.echo(f"skip  {p.name}: needs arguments ({', '.join(exc.fields or {})}); pass them with --arg")
                    break
                except PrefillError as exc:
                    errors += 1
                    click.echo(f"ERROR {p.name} [{label}]: {exc.code}: {exc.message}")
                    continue
                for note in explain(schema, resolved, identity, st.sensitive):
                    for kind, message in note.warnings:
                        if kind == CASE_MISMATCH:
                            warnings += 1
                            click.echo(f"WARN  {p.name} [{label}] field {note.name!r}: {message}")
        click.echo(f"checked {len(st.registry)} forms as {len(samples)} identities: "
                   f"{errors} errors, {warnings} warnings")
        if errors:
            sys.exit(1)

    @group.command("widget-version")
    def widget_version_cmd() -> None:
        """widget.js's version: the VERSION of the install snippet's /widget.js?v=VERSION."""
        from web.render.assets import widget_version

        with app.app_context():
            click.echo(widget_version())

    app.cli.add_command(group)
