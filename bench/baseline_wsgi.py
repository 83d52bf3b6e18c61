"""The hand-written baseline served by gunicorn (``bench/gunicorn_bench.py``):
``GET /form``, the built-in support form (``support_ticket``) with Flask +
WTForms + Jinja2 reading the user by its bearer token (its claims, and its
trusted plan, which chooses the priorities) and writing the markup Prefill
writes (``bench/baseline_support.html``); ``GET /json-fixed``, ``jsonify`` of
the document Prefill answers one user (``bench/baseline_support.json``) held
in memory, no identity read: the floor of a JSON view; a submit that is a bare
marshmallow validation plus one SQLAlchemy insert of six fields; and the
conditional form's page and submit (``bench/baseline_conditional.py``).

gunicorn runs ``bench.baseline_wsgi:create()``; ``DATABASE_URL`` names the
database."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import text
from wtforms import EmailField, FileField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from app import NoCookieSessions
from bench import baseline_conditional
from bench.baseline_conditional import CHOOSE, _checkboxes, _choices
from store.db import make_engine
from store.tokens import hash_token

PRIORITIES = ("high", "normal", "low")  # what the submit accepts (a plain plan's)
STANDARD_PRIORITIES = _choices("high", "High", "normal", "Normal", "low", "Low")
ENTERPRISE_PRIORITIES = _choices("critical", "Critical", "high", "High", "normal", "Normal")
HERE = Path(__file__).resolve().parent


class SupportForm(Form):
    """The fields of the built-in ``support_ticket`` (schema_providers/builtin.py)."""

    email = EmailField("Email")
    name = StringField("Name")
    company = StringField("Company")
    subject = StringField("Subject", [Length(max=200)])
    category = SelectField("Category", choices=[CHOOSE, *_choices("question", "A question", "billing", "Billing",
                                                                  "bug", "Something is broken")], default="")
    invoice = StringField("Invoice number", [Length(max=40)])
    affected = _checkboxes("Affected products", _choices("web", "Web app", "mobile", "Mobile app", "api", "API"))
    steps = TextAreaField("Steps to reproduce", [Length(max=5000)])
    priority = SelectField("Priority", choices=[], default="")  # by the user's plan, per request
    message = TextAreaField("Message", [Length(max=10000)])
    screenshot = FileField("Screenshot")


# The same markup Prefill serves for a verified user (head, badges, ARIA,
# rules as data- attributes, counters, help, the file field's drop zone,
# scripts), written by hand: tests/test_bench_smoke.py holds them equal.
PAGE = (HERE / "baseline_support.html").read_text()
KINDS = {"email": "email", "name": "text", "company": "text", "subject": "text", "category": "select",
         "invoice": "text", "affected": "checkboxes", "steps": "textarea", "priority": "select",
         "message": "textarea", "screenshot": "file"}
ATTRS = {"email": {"required": True, "autocomplete": "email"}, "name": {"autocomplete": "name"},
         "company": {"autocomplete": "organization"}, "subject": {"required": True, "maxlength": 200},
         "invoice": {"maxlength": 40}, "steps": {"maxlength": 5000, "aria-describedby": "steps-help"},
         "priority": {"required": True}, "message": {"required": True, "maxlength": 10000},
         "screenshot": {"accept": "image/png,image/jpeg,image/gif,image/webp",
                        "aria-describedby": "screenshot-limits screenshot-help"}}
LOCKED = {"readonly": True, "class": "locked", "data-known": "1"}  # the known email
_BILLING = '{"==":[{"var":"category"},"billing"]}'
_BUG = '{"==":[{"var":"category"},"bug"]}'
RULES = {"invoice": {"data-visible-if": _BILLING, "data-reads": "category", "data-required": ""},
         "affected": {"data-multiple": "", "data-visible-if": _BUG, "data-reads": "category"},
         "steps": {"data-visible-if": _BUG, "data-reads": "category",
                   "data-required-if": '{"in":["api",{"var":"affected"}]}'}}
REQUIRED = {"email", "subject", "invoice", "priority", "message"}
HELPS = {"steps": "Required for API problems.", "screenshot": "A picture of what you see helps us help you."}
# Linked with a content version, as Prefill links them (computed once at start).
THEME_CSS = ":root{--prefill-accent:#1f4fd1;--prefill-accent-text:#ffffff;--prefill-radius:6px}\n"
ASSETS = ("prefill.css", "favicon.svg", "form.js", "uploads.js", "rules.js", "conditions.js")


def _version(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


VERSIONS = {**{name: _version((HERE.parent / "static" / name).read_bytes()) for name in ASSETS},
            "theme.css": _version(THEME_CSS.encode())}
# The JSON repeat view's floor: the document Prefill answers user 0 (``bench-0``
# of gunicorn_bench.seed), held in memory, no identity read.
FIXED_JSON = json.loads((HERE / "baseline_support.json").read_text())


class TicketSchema(Schema):
    email = fields.Email(required=True)
    name = fields.String(load_default=None)
    company = fields.String(load_default=None)
    subject = fields.String(required=True, validate=validate.Length(max=200))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    message = fields.String(required=True, validate=validate.Length(max=10000))


def create(url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.session_interface = NoCookieSessions()
    db = make_engine(url or os.environ["DATABASE_URL"])
    # Prefill's Jinja settings; compiled once, as a template file would be.
    page = app.jinja_env.overlay(trim_blocks=True, lstrip_blocks=True).from_string(PAGE)
    lookup = text("SELECT u.claimed, u.trusted FROM sessions s JOIN users u ON u.user_id = s.user_id "
                  "WHERE s.token_hash = :h")
    insert = text('INSERT INTO bench_submissions (id, email, name, company, subject, priority, message) '
                  'VALUES (:id, :email, :name, :company, :subject, :priority, :message)')
    schema = TicketSchema()

    def account() -> tuple[dict[str, Any], dict[str, Any]]:
        """(what the sign-in claims, what is trusted) of the bearer token's user."""
        auth = request.headers.get("Authorization", "")
        with db.connect() as conn:
            row = conn.execute(lookup, {"h": hash_token(auth[7:])}).first()
        return (json.loads(row[0]), json.loads(row[1])) if row else ({}, {})

    def user() -> dict[str, Any]:
        return account()[0]

    @app.get("/form")
    def form() -> str:
        claimed, trusted = account()
        values: dict[str, Any] = {"subject": request.args.get("subject")}
        attrs = {**ATTRS}
        known = {}
        for name in ("email", "name", "company"):  # a trusted value first, then the sign-in's claim
            for source, note in ((trusted, "From your account"), (claimed, "From your sign-in")):
                if source.get(name):
                    values[name], known[name] = source[name], note
                    attrs[name] = {**ATTRS[name], "aria-describedby": f"{name}-source"}
                    break
        if "email" in known:
            attrs["email"] = {**attrs["email"], **LOCKED}
        wtform = SupportForm(data=values)
        plan = ENTERPRISE_PRIORITIES if trusted.get("plan") == "enterprise" else STANDARD_PRIORITIES
        wtform.priority.choices = [CHOOSE, *plan]
        return page.render(form=wtform, attrs=attrs, kinds=KINDS, rules=RULES, required=REQUIRED,
                           required_if=("steps",), multiple=("affected",), known=known, helps=HELPS, v=VERSIONS,
                           csrf=secrets.token_hex(20), key=secrets.token_urlsafe(16))

    @app.get("/json-fixed")
    def json_fixed() -> Any:
        return jsonify(FIXED_JSON)

    @app.post("/submit")
    def submit() -> Any:
        try:
            values = schema.load(request.get_json()["values"])
        except ValidationError as err:
            return jsonify({"error": err.messages}), 422
        sid = "sub_" + secrets.token_hex(12)
        with db.begin() as conn:
            conn.execute(insert, {"id": sid, **values})
        return jsonify({"id": sid, "values": values}), 201

    baseline_conditional.register(app, db, user)
    return app
