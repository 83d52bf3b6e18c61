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
from forms.explain import CASE_MISMATCH, FieldExplanation, explain
from forms.explain_answers import AnswersExplanation, FieldAnswer, SubmitOutcome, as_json, explain_answers
from forms.identity import identity_from
from forms.lint import lint


def _load_object(path: str | None, what: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with click.open_file(path, encoding="utf-8") as handle:  # "-" is stdin
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: must hold a JSON object {what}")
    return data


def _load_user(path: str | None) -> dict[str, Any]:
    return _load_object(path, "{userId, userMetadata, trusted, sessionMetadata}")


def _args(pairs: tuple[str, ...]) -> dict[str, str]:
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise click.BadParameter(f"--arg takes key=value, got {bad[0]!r}")
    return dict(p.split("=", 1) for p in pairs)


def render_command(app: Flask, form: str, data: dict[str, Any], args: dict[str, str], fmt: str,
                   with_explain: bool, answers: dict[str, Any] | None = None) -> None:
    """Print ``form`` as ``data``'s identity sees it; with ``--explain``, why each
    field is filled, locked, shown and required, and (given ``answers``) what a
    submit would keep. ``text`` prints only the explanation, in words."""
    st = app.extensions["prefill"]
    identity = identity_from(data)
    try:
        schema, resolved = st.engine.resolve_with_schema(form, args, identity)
    except PrefillError as exc:
        click.echo(json.dumps(exc.to_dict(), indent=2), err=True)
        sys.exit(1)
    with_explain = with_explain or fmt == "text" or answers is not None
    notes = explain(schema, resolved, identity, st.sensitive) if with_explain else []
    decided = explain_answers(schema, resolved, answers or {}, identity, st.sensitive) if with_explain else None
    if fmt == "html":
        from web.render.pages import hidden_inputs, render_form

        with app.test_request_context(f"/forms/{form}"):
            click.echo(render_form(resolved, hidden_inputs("preview", "preview"), embed=True))
        if decided is not None:
            click.echo(_text(notes, decided, answers is not None), err=True)
    elif fmt == "text" and decided is not None:
        click.echo(_text(notes, decided, answers is not None))
    elif decided is not None:
        out: dict[str, Any] = {"form": resolved.to_json(), "explain": [
            {**note.to_json(), **answer.to_json()} for note, answer in zip(notes, decided.fields, strict=True)]}
        if answers is not None:
            out["submit"] = decided.submit.to_json()
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(json.dumps(resolved.to_json(), indent=2))


def _text(notes: list[FieldExplanation], decided: AnswersExplanation, with_submit: bool) -> str:
    lines = [line for note, answer in zip(notes, decided.fields, strict=True) for line in _field_lines(note, answer)]
    return "\n".join(lines + (_submit_lines(decided.submit) if with_submit else []))


def _field_lines(note: FieldExplanation, answer: FieldAnswer) -> list[str]:
    lines = [f"{note.name}: {answer.why}"]
    if not answer.later:
        lines.append(f"  {answer.why_required}")
    lines += [f"  option {value!r} hidden: visibleIf {check}" for value, check in answer.hidden_options.items()]
    lines += [f"  note: {text}" for text in answer.notes]
    if not answer.later:
        state = ("filled" if note.filled else "empty") + (", locked" if note.locked else "")
        lines.append(f"  prefill: {state} — " + "; ".join(note.reasons))
    return lines + [f"  warning ({kind}): {message}" for kind, message in note.warnings]


def _submit_lines(submit: SubmitOutcome) -> list[str]:
    if submit.errors is not None:
        lines = ["a submit would fail:"] + [f"  {name}: {' '.join(msgs)}" for name, msgs in submit.errors.items()]
    else:
        kept = submit.kept or {}
        lines = ["a submit would keep:"] + [f"  {name} = {as_json(value)}" for name, value in kept.items()]
    if submit.dropped:
        lines.append("  dropped (hidden, stored nowhere): " + ", ".join(submit.dropped))
    return lines


def remove_expired_uploads(st: Any) -> int:
    """Unclaimed uploads past their lifetime: the file first, then its row (a
    failure leaves the row, so the next run tries again); and partial files a
    crashed upload left in a local storage."""
    removed = 0
    while batch := st.attachments.expired():
        for _, key in batch:
            st.storage.delete(key)
        st.attachments.forget([ident for ident, _ in batch])
        removed += len(batch)
    if hasattr(st.storage, "remove_partial"):
        st.storage.remove_partial(older_than_s=24 * 3600)
    return removed


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
        """Delete expired sessions, idempotency keys past 24 h, and uploads no
        submission claimed within UPLOAD_TTL, files and rows (run it daily, e.g. from cron)."""
        st = app.extensions["prefill"]
        sessions = st.sessions.delete_expired()
        keys = st.submissions.delete_old_idempotency_keys()
        uploads = remove_expired_uploads(st)
        click.echo(f"deleted {sessions} expired sessions, {keys} old idempotency keys and {uploads} unclaimed uploads")

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
    @click.option("--format", "fmt", type=click.Choice(["json", "html", "text"]), default="json",
                  help="text: only the explanation, in words.")
    @click.option("--explain", "with_explain", is_flag=True, help="Say why each field was or was not filled, "
                                                                 "locked, shown and required.")
    @click.option("--answers", "answers_file", default=None, help="A JSON file of answers {field: value} "
                                                                 "('-' for stdin): explain the rules for them "
                                                                 "and what a submit would keep.")
    def render(form: str, user_file: str | None, args: tuple[str, ...], fmt: str, with_explain: bool,
               answers_file: str | None) -> None:
        """FORM as a given identity sees it, without a database or a browser."""
        answers = None if answers_file is None else _load_object(answers_file, "{field: value}")
        render_command(app, form, _load_user(user_file), _args(args), fmt, with_explain, answers)

    @group.command("preview")
    @click.argument("form")
    @click.option("--user-id", default=None, help="The userId to resolve as.")
    @click.option("--metadata", default="{}", help="userMetadata as JSON (claimed).")
    @click.option("--trusted", default="{}", help="Trusted metadata as JSON (signed/admin-set).")
    @click.option("--session", "session_md", default="{}", help="sessionMetadata as JSON.")
    @click.option("--arg", "args", multiple=True, help="A query argument, key=value (repeatable).")
    @click.option("--html", "as_html", is_flag=True, help="Print the rendered HTML form instead of JSON.")
    @click.option("--explain", "with_explain", is_flag=True, help="Say why each field was or was not filled.")
    @click.option("--answers", "answers_file", default=None, help="A JSON file of answers {field: value}.")
    def preview(form: str, user_id: str | None, metadata: str, trusted: str, session_md: str,
                args: tuple[str, ...], as_html: bool, with_explain: bool, answers_file: str | None) -> None:
        """Like `render`, with the identity given inline."""
        try:
            parsed = [json.loads(x) for x in (metadata, trusted, session_md)]
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}") from None
        data = {"userId": user_id, "userMetadata": parsed[0], "trusted": parsed[1], "sessionMetadata": parsed[2]}
        answers = None if answers_file is None else _load_object(answers_file, "{field: value}")
        render_command(app, form, data, _args(args), "html" if as_html else "json", with_explain, answers)

    @group.command("check")
    @click.option("--user", "user_files", multiple=True, help="Also check as this identity (JSON file; repeatable).")
    @click.option("--arg", "args", multiple=True, help="Arguments for every form, key=value (repeatable).")
    def check(user_files: tuple[str, ...], args: tuple[str, ...]) -> None:
        """Resolve every form for sample identities; report schema errors (rule
        errors among them), provider exceptions, case-mismatched keys, rules that
        can never be true and saveToProfile on sensitive keys. Exit status 1 on
        any error (for CI); each problem is printed once, for the first identity
        that meets it."""
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
        seen: set[tuple[str, ...]] = set()
        linted: dict[int, tuple[Any, list[Any]]] = {}  # holds each schema, so its id stays its own
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
                    if (p.name, exc.code, exc.message) not in seen:
                        seen.add((p.name, exc.code, exc.message))
                        errors += 1
                        click.echo(f"ERROR {p.name} [{label}]: {exc.code}: {exc.message}")
                    continue
                found = [(note.name, kind, message) for note in explain(schema, resolved, identity, st.sensitive)
                         for kind, message in note.warnings if kind == CASE_MISMATCH]
                if id(schema) not in linted:  # the engine hands back the same schema for the same output
                    linted[id(schema)] = (schema, lint(schema, st.sensitive))
                found += [(w.field, w.kind, w.message) for w in linted[id(schema)][1]]
                for name, kind, message in found:
                    if (p.name, name, kind, message) not in seen:
                        seen.add((p.name, name, kind, message))
                        warnings += 1
                        click.echo(f"WARN  {p.name} [{label}] field {name!r} ({kind}): {message}")
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
