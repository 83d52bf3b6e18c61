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
from bench.baseline import PAGE, TicketForm
from store.db import make_engine
from store.tokens import hash_token

PRIORITIES = ("high", "normal", "low")


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
        wtform = TicketForm(data={**user(), "subject": request.args.get("subject")})
        attrs = {"email": {"readonly": True, "required": True}, "subject": {"required": True},
                 "priority": {"required": True}, "message": {"required": True}}
        return page.render(form=wtform, attrs=attrs, csrf=secrets.token_hex(20))

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

    return app


app = create()
