"""The hand-written baseline served by gunicorn (``bench/gunicorn_bench.py``):
``GET /form``, the built-in support form (``support_ticket``) with Flask +
WTForms + Jinja2 reading the user by its bearer token (its claims, and its
trusted plan, which chooses the priorities) and writing the markup Prefill
writes (``bench/baseline_support.py``: the form, page and data, shared with
the in-process baseline ``bench/baseline.py``); ``GET /json-fixed``,
``jsonify`` of the document Prefill answers one user
(``bench/baseline_support.json``) held in memory, no identity read: the floor
of a JSON view; a submit that is a bare
marshmallow validation plus one SQLAlchemy insert of six fields; and the
conditional form's page and submit (``bench/baseline_conditional.py``).

gunicorn runs ``bench.baseline_wsgi:create()``; ``DATABASE_URL`` names the
database."""

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
from bench.baseline_support import HERE, LOOKUP, compile_page, render_page
from store.db import make_engine
from store.tokens import hash_token

PRIORITIES = ("high", "normal", "low")  # what the submit accepts (a plain plan's)
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
    page = compile_page(app)
    insert = text('INSERT INTO bench_submissions (id, email, name, company, subject, priority, message) '
                  'VALUES (:id, :email, :name, :company, :subject, :priority, :message)')
    schema = TicketSchema()

    def account() -> tuple[dict[str, Any], dict[str, Any]]:
        """(what the sign-in claims, what is trusted) of the bearer token's user."""
        auth = request.headers.get("Authorization", "")
        with db.connect() as conn:
            row = conn.execute(LOOKUP, {"h": hash_token(auth[7:])}).first()
        return (json.loads(row[0]), json.loads(row[1])) if row else ({}, {})

    def user() -> dict[str, Any]:
        return account()[0]

    @app.get("/form")
    def form() -> str:
        return render_page(page, *account(), request.args.get("subject"))

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
