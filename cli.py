"""``flask --app app prefill …``: the worker, migrations, and previewing a form."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup


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

    @group.command("preview")
    @click.argument("form")
    @click.option("--user-id", default=None, help="The userId to resolve as.")
    @click.option("--metadata", default="{}", help="userMetadata as JSON (claimed).")
    @click.option("--trusted", default="{}", help="Trusted metadata as JSON (signed/admin-set).")
    @click.option("--session", "session_md", default="{}", help="sessionMetadata as JSON.")
    @click.option("--arg", "args", multiple=True, help="A query argument, key=value (repeatable).")
    @click.option("--html", "as_html", is_flag=True, help="Print the rendered HTML form instead of JSON.")
    def preview(form: str, user_id: str | None, metadata: str, trusted: str, session_md: str,
                args: tuple[str, ...], as_html: bool) -> None:
        """Show FORM as any user would see it, without a database or a browser."""
        from forms.errors import PrefillError
        from forms.identity import Identity

        try:
            parsed = [json.loads(x) for x in (metadata, trusted, session_md)]
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}") from None
        identity = Identity.build(
            user_id=user_id, visitor_id="v_preview", verified=user_id is not None,
            claimed=parsed[0], trusted=parsed[1], session_metadata=parsed[2])
        arg_map = dict(a.split("=", 1) for a in args if "=" in a)
        try:
            resolved = app.extensions["prefill"].engine.resolve(form, arg_map, identity)
        except PrefillError as exc:
            click.echo(json.dumps(exc.to_dict(), indent=2), err=True)
            sys.exit(1)
        if as_html:
            from web.rendering import render_form

            with app.test_request_context(f"/forms/{form}"):
                click.echo(render_form(resolved, "preview", embed=True))
        else:
            click.echo(json.dumps(resolved.to_json(), indent=2))

    app.cli.add_command(group)
