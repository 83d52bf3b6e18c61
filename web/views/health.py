"""Health checks for load balancers and orchestrators.

``/healthz``: the process answers. ``/readyz``: it can serve, i.e. the database
answers within the store timeout and its schema is at the newest migration.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from forms.errors import MigrationsPending, StoreUnavailable
from store.db import schema_is_current
from web.state import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    try:
        current = schema_is_current(state().db)
    except Exception:
        raise StoreUnavailable() from None
    if not current:
        raise MigrationsPending()
    return jsonify({"status": "ready"}), 200
