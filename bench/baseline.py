"""The hand-written baseline: the same six fields as ``support_ticket``, written
directly with Flask + WTForms + Jinja2, as a developer would without Prefill."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import Engine, text
from wtforms import EmailField, Form, SelectField, StringField, TextAreaField

from bench import baseline_conditional

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Contact support</title></head>
<body><main><form method="post"><h1>Contact support</h1>
<input type="hidden" name="csrf_token" value="{{ csrf }}">
{% for f in form %}<div class="field">{{ f.label() }} {{ f(**attrs.get(f.name, {})) }}</div>{% endfor %}
<button type="submit">Send ticket</button></form></main></body></html>"""

PRIORITIES = [("high", "High"), ("normal", "Normal"), ("low", "Low")]


class TicketForm(Form):
    email = EmailField("Email")
    name = StringField("Name")
    company = StringField("Company")
    subject = StringField("Subject")
    priority = SelectField("Priority", choices=PRIORITIES)
    message = TextAreaField("Message")


USER = {"email": "ann@example.com", "name": "Ann", "company": "Acme"}


def _json(data: dict[str, Any], subject: str | None) -> dict[str, Any]:
    def f(name: str, type_: str, required: bool, value: Any = None, **more: Any) -> dict[str, Any]:
        return {"name": name, "label": name.capitalize(), "type": type_, "required": required, "value": value,
                "disabled": False, "options": None, "placeholder": None, "help": None, **more}

    return {"name": "support_ticket", "title": "Contact support", "fields": [
        f("email", "email", True, data.get("email"), disabled=True),
        f("name", "text", False, data.get("name")),
        f("company", "text", False, data.get("company")),
        f("subject", "text", True, subject),
        f("priority", "select", True, options=[{"label": lbl, "value": v} for v, lbl in PRIORITIES]),
        f("message", "textarea", True),
    ]}


def create_baseline(db: Engine | None = None) -> Flask:
    """``db`` given: read the user's row per request (a hand-written identity lookup)."""
    app = Flask(__name__)
    from app import NoCookieSessions

    app.session_interface = NoCookieSessions()  # same as Prefill: compare the work, not the defaults
    page = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be
    lookup = text("SELECT s.claimed FROM sessions s WHERE s.token_hash = :h")

    def user_data() -> dict[str, Any]:
        if db is None:
            return USER
        import json

        with db.connect() as conn:
            row = conn.execute(lookup, {"h": request.cookies.get("bench", "")}).first()
        if row is None:
            raise LookupError("baseline: unknown user")
        return json.loads(row[0])

    @app.get("/form")
    def form() -> str:
        data = user_data()
        wtform = TicketForm(data={**data, "subject": request.args.get("subject")})
        attrs = {"email": {"readonly": True, "required": True}, "subject": {"required": True},
                 "priority": {"required": True}, "message": {"required": True}}
        return page.render(form=wtform, attrs=attrs, csrf="x" * 40)

    @app.get("/json")
    def json_view() -> Any:
        return jsonify(_json(user_data(), request.args.get("subject")))

    if db is not None:  # the conditional form's page and submit
        baseline_conditional.register(app, db, user_data)

    return app
