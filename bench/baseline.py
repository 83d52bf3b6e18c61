"""The in-process hand-written baseline (``bench/run.py``): the built-in
``support_ticket`` written directly with Flask + WTForms + Jinja2, as a
developer would without Prefill. The form, the page and its data are the
gunicorn baseline's (``bench/baseline_support.py``): the same markup Prefill
serves a verified user, and on ``/json`` the same document Prefill's
``/api/forms/support_ticket`` answers, built per request from the user's data.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import Engine

from bench import baseline_conditional
from bench.baseline_support import LOOKUP, bench_profile, compile_page, render_page, support_json

# The static baseline's user, held in memory: bench user 0 as bench/run.py seeds it.
USER = bench_profile(0)


def create_baseline(db: Engine | None = None) -> Flask:
    """``db`` None: "static", the user's data from an in-memory dict (no
    identity read); ``db`` given: read the user's row per request (a
    hand-written identity lookup by the ``bench`` cookie, the session's token
    hash), and serve the conditional form too."""
    app = Flask(__name__)
    from app import NoCookieSessions

    app.session_interface = NoCookieSessions()  # same as Prefill: compare the work, not the defaults
    page = compile_page(app)

    def account() -> tuple[dict[str, Any], dict[str, Any]]:
        """(what the sign-in claims, what is trusted) of the user."""
        if db is None:
            return USER
        with db.connect() as conn:
            row = conn.execute(LOOKUP, {"h": request.cookies.get("bench", "")}).first()
        if row is None:
            raise LookupError("baseline: unknown user")
        return json.loads(row[0]), json.loads(row[1])

    def user_data() -> dict[str, Any]:
        return account()[0]

    @app.get("/form")
    def form() -> str:
        return render_page(page, *account(), request.args.get("subject"))

    @app.get("/json")
    def json_view() -> Any:
        return jsonify(support_json(*account(), request.args.get("subject")))

    if db is not None:  # the conditional form's page and submit
        baseline_conditional.register(app, db, user_data)

    return app
