"""The widget surface: ``/widget.js``, the signed-embed-link exchange, and the
panel's ad-hoc forms (HTML, for the frame widget.js opens).

The widget never uses cookies: the host page keeps the session token in its
own first-party storage and sends it as ``Authorization: Bearer``; the panel's
frame receives it by ``postMessage``. No token ever travels in a URL.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from forms.errors import IdentityUnverified, InvalidJSON, InvalidSession, ValidationFailed
from store.once import use_once
from web.identity.current import current_identity
from web.identity.session import ensure_session, request_token
from web.identity.verify import verify_embed_token
from web.plumbing.origins import check_state_change
from web.render.assets import widget_script
from web.render.pages import hidden_inputs, new_form_key, render_form, schema_input, sent_values
from web.schemas import bodies
from web.state import state
from web.uploads.links import with_links
from web.views.adhoc import ADHOC, require_adhoc, resolve_for
from web.views.api import me_payload, private
from web.views.html import handle_post, shell_page

bp = Blueprint("widget", __name__)
bp.before_request(check_state_change)


@bp.get("/widget.js")
def widget_js() -> Response:
    """Any site may load it. ``/widget.js?v=<version>`` never changes, so it is
    cached for a year; the plain URL is revalidated by its ETag after 5 minutes."""
    text, packed, version = widget_script()
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(packed if gz else text, mimetype="text/javascript")
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(version + ("-gz" if gz else ""))
    immutable = request.args.get("v") == version
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "public, max-age=300"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


@bp.post("/api/embed/session")
def embed_session() -> tuple[Response, int]:
    """A signed embed link's token (from the URL fragment, never sent to a
    server by the browser) exchanged once for a session, verified."""
    body = bodies.load(bodies.EmbedSessionBody, bodies.read_json())
    st = state()
    if not st.keys.enabled:
        raise IdentityUnverified("Embed links need identity verification: set IDENTITY_SECRET.")
    claims = verify_embed_token(st.keys, body["token"], current_app.config["IDENTITY_TOKEN_AUDIENCE"],
                                spend=partial(use_once, st.db))  # the same ledger as /api/identify's
    problem = bodies.shape_problem(claims.trusted)
    if problem:
        raise ValidationFailed(fields={"token": [f"Claims are not acceptable: {problem}"]})
    bodies.check_metadata(claims.trusted, "token")
    bodies.identifier(claims.user_id, "token")
    visitor_id = body.get("visitorId")
    if visitor_id and not st.sessions.is_our_visitor(visitor_id):
        visitor_id = None
    token, row = st.sessions.create(visitor_id)  # a bearer session: no cookie is set
    with st.sessions.change(row) as tx:
        tx.identify(claims.user_id, {}, claims.trusted, True)
    return private(jsonify({"success": True, "sessionToken": token, **me_payload(tx.row), "warnings": []})), 201


# -- the panel's ad-hoc forms ---------------------------------------------------
def _bearer_only() -> None:
    require_adhoc()
    if not request_token()[1]:
        raise InvalidSession("Ad-hoc forms are shown by widget.js, which sends its session as a bearer token.")


def _posted_schema() -> dict[str, Any]:
    try:  # bounded in depth: json's own recursion limit differs by Python version
        schema = bodies.parse_json(request.form.get("prefill_schema", ""))
    except InvalidJSON:
        schema = None
    if not isinstance(schema, dict):
        raise ValidationFailed(fields={"prefill_schema": ["Send the form's schema as a JSON object."]})
    problem = bodies.shape_problem(schema)
    if problem:
        raise ValidationFailed(fields={"prefill_schema": [problem]})
    return schema


@bp.get("/widget/adhoc")
def adhoc_shell() -> Response:
    require_adhoc()
    return shell_page()


@bp.post("/widget/adhoc/render")
def adhoc_render() -> Response:
    _bearer_only()
    schema = _posted_schema()
    ensure_session()
    form = resolve_for(schema, current_identity())
    hidden = hidden_inputs("", new_form_key()) + schema_input(schema)
    return Response(render_form(form, hidden, True), mimetype="text/html")


@bp.post("/widget/adhoc")
def adhoc_submit() -> Response | tuple[Response, int]:
    _bearer_only()
    schema = _posted_schema()
    row = ensure_session()
    identity = current_identity()
    form = resolve_for(schema, identity)

    def done(body: dict[str, Any]) -> Response:
        page = render_template("thanks.html", title=form.title, ref=body["id"], embed=True, again="#again",
                               sent=sent_values(form, with_links(body["values"])))
        return Response(page, mimetype="text/html")

    return handle_post(ADHOC, {}, form, row, identity, done, schema=schema)
