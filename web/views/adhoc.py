"""Ad-hoc forms: a schema the caller writes (the widget's ``showForm({fields})``).

It is resolved for the request's identity by the same rules as a provider's
schema (templates, exact-key prefill, sensitive keys, locks), and a submission
re-resolves the schema it was sent with, so locked values still come from the
server. What the server cannot do is stop a client from changing the form
itself: server providers are the secure path. Off unless ``ADHOC_FORMS=1``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from forms.engine import resolve_adhoc
from forms.errors import AdhocFormsOff
from forms.identity import Identity
from forms.resolve import ResolvedForm
from web.identity.current import current_identity
from web.plumbing.origins import check_state_change
from web.schemas import bodies
from web.state import state
from web.views.api import idempotency_key, private
from web.views.submit import submit_json

bp = Blueprint("adhoc", __name__, url_prefix="/api/forms")
ADHOC = "adhoc"  # the form name ad-hoc submissions are stored under


def require_adhoc() -> None:
    if not current_app.config["ADHOC_FORMS"]:
        raise AdhocFormsOff()


bp.before_request(require_adhoc)
bp.before_request(check_state_change)


def resolve_for(schema: Any, identity: Identity) -> ResolvedForm:
    st = state()
    return resolve_adhoc(schema, identity, st.sensitive, st.engine.file_caps)


@bp.post("/resolve")
def resolve_form() -> Response:
    form = resolve_for(bodies.read_json(), current_identity())
    return private(jsonify(form.to_json()))


@bp.post("/adhoc/submissions")
def create_adhoc_submission() -> tuple[Response, int]:
    body = bodies.load(bodies.AdhocSubmissionBody, bodies.read_json())
    schema = body["schema"]
    status, answer = submit_json(ADHOC, {}, body["values"], idempotency_key(),
                                 lambda identity: resolve_for(schema, identity), schema=schema)
    return private(Response(answer, mimetype="application/json")), status
