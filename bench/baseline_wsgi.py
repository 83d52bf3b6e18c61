"""The hand-written baseline served by gunicorn (``bench/gunicorn_bench.py``):
the support form with Flask + WTForms + Jinja2 reading the user by its bearer
token, and a submit that is a bare marshmallow validation plus one SQLAlchemy
insert of the same six fields. ``DATABASE_URL`` names the database."""

from __future__ import annotations

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

from app import NoCookieSessions
from bench import baseline_conditional
from bench.baseline import TicketForm
from store.db import make_engine
from store.tokens import hash_token

PRIORITIES = ("high", "normal", "low")

# The same markup Prefill serves (head, badges, ARIA, counter, hidden inputs,
# scripts), written by hand: the page sizes agree within 10% (the bench prints both).
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Contact support</title>
<link rel="stylesheet" href="/static/prefill.css">
<link rel="stylesheet" href="/theme.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body class="page">
<main>
<form method="post" class="prefill-form" data-form="support_ticket">
  <h1>Contact support</h1>
<p class="description">Tell us what went wrong; we answer within one business day.</p>
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="form_key" value="{{ key }}">
{% for f in form %}{% set a = attrs.get(f.name, {}) %}
<div class="field field-{{ kinds[f.name] }}{% if a.readonly %} is-locked{% endif %}">
  {{ f.label() }}{% if a.required %}<span class="req" aria-hidden="true">*</span>{% endif %}
  {{ f(**a) }}
{% if f.name in known %}<span class="known" id="{{ f.name }}-source">From your sign-in</span>{% endif %}
{% if f.name == 'message' %}<p class="counter" id="message-counter" data-max="10000" data-left="{n} characters left"
data-over="{n} characters too many" aria-live="polite" hidden></p>{% endif %}
</div>{% endfor %}
  <button type="submit" data-busy="Sending…">Send ticket</button>
</form>
</main>
<script src="/static/form.js" defer></script>
</body>
</html>"""
KINDS = {"email": "email", "name": "text", "company": "text", "subject": "text", "priority": "select",
         "message": "textarea"}


class TicketSchema(Schema):
    email = fields.Email(required=True)
    name = fields.String(load_default=None)
    company = fields.String(load_default=None)
    subject = fields.String(required=True, validate=validate.Length(max=200))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    message = fields.String(required=True, validate=validate.Length(max=10000))


def create() -> Flask:
    app = Flask(__name__)
    app.session_interface = NoCookieSessions()
    db = make_engine(os.environ["DATABASE_URL"])
    page = app.jinja_env.from_string(PAGE)
    lookup = text("SELECT u.claimed FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.token_hash = :h")
    insert = text('INSERT INTO bench_submissions (id, email, name, company, subject, priority, message) '
                  'VALUES (:id, :email, :name, :company, :subject, :priority, :message)')
    schema = TicketSchema()

    def user() -> dict[str, Any]:
        auth = request.headers.get("Authorization", "")
        with db.connect() as conn:
            row = conn.execute(lookup, {"h": hash_token(auth[7:])}).first()
        return json.loads(row[0]) if row else {}

    @app.get("/form")
    def form() -> str:
        data = user()
        wtform = TicketForm(data={**data, "subject": request.args.get("subject")})
        wtform.priority.choices = [("", "Choose…"), *wtform.priority.choices]
        attrs = {"email": {"readonly": True, "required": True, "autocomplete": "email", "class": "locked",
                           "data-known": "1", "aria-describedby": "email-source"},
                 "name": {"autocomplete": "name", "aria-describedby": "name-source"},
                 "company": {"autocomplete": "organization"},
                 "subject": {"required": True, "maxlength": 200}, "priority": {"required": True},
                 "message": {"required": True, "maxlength": 10000}}
        return page.render(form=wtform, attrs=attrs, kinds=KINDS, known=[k for k in ("email", "name") if data.get(k)],
                           csrf=secrets.token_hex(20), key=secrets.token_urlsafe(16))

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


app = create()
