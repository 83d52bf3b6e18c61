"""Ad-hoc forms: a schema the caller writes (the widget's ``showForm({fields})``).

It is resolved for the request's identity by the same rules as a provider's
schema (templates, exact-key prefill, sensitive keys, locks), and a submission
re-resolves the schema it was sent with, so locked values still come from the
server. What the server cannot do is stop a client from changing the form
itself: server providers are the secure path. Off unless ``ADHOC_FORMS=1``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from forms.engine import resolve_adhoc
from forms.errors import AdhocFormsOff
from forms.identity import Identity
from forms.resolve import ResolvedForm
from forms.validate import validate_submission
from store.submissions import request_hash, scoped_key

from . import bodies
from .api import idempotency_key, private
from .context import current_identity, ensure_session
from .i18n import localized
from .origins import check_state_change
from .state import state
from .submit import store_submission

bp = Blueprint("adhoc", __name__, url_prefix="/api/forms")
ADHOC = "adhoc"  # the form name ad-hoc submissions are stored under


def require_adhoc() -> None:
    if not current_app.config["ADHOC_FORMS"]:
        raise AdhocFormsOff()


bp.before_request(require_adhoc)
bp.before_request(check_state_change)


def resolve_for(schema: Any, identity: Identity) -> ResolvedForm:
    return resolve_adhoc(schema, identity, state().sensitive)


def schema_args(schema: dict[str, Any]) -> dict[str, str]:
    """What keys an ad-hoc submission's replay: the schema it was made against."""
    return {"schema": json.dumps(schema, sort_keys=True, separators=(",", ":"))}


@bp.post("/resolve")
def resolve_form() -> Response:
    form = resolve_for(bodies.read_json(), current_identity())
    return private(jsonify(form.to_json()))


@bp.post("/adhoc/submissions")
def create_adhoc_submission() -> tuple[Response, int]:
    body = bodies.load(bodies.AdhocSubmissionBody, bodies.read_json())
    schema, values = body["schema"], body["values"]
    key = idempotency_key()
    row = ensure_session()
    st = state()
    identity = localized(st.sessions.identity(row))
    digest = request_hash(ADHOC, schema_args(schema), values, identity)
    if key:
        key = scoped_key(identity, key)
        found = st.submissions.replay(row.visitor_id, key, digest)
        if found:
            return private(jsonify(found[1])), found[0]
    form = resolve_for(schema, identity)
    clean = validate_submission(form, values)
    status, answer, _ = store_submission(ADHOC, {}, clean, row, key, digest, schema=schema)
    return private(jsonify(answer)), status
