"""The demo page's sample users, signed server-side with the demo secret.

Only registered when ``PREFILL_DEMO`` is on (``make run``): it lets any visitor
become a verified user, which is the point of a demo and never of production.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import deque

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from forms.errors import CSRFFailed, ValidationFailed
from web.identity.session import change_session, csrf_token, ensure_session
from web.identity.verify import sign_identity_token
from web.render.assets import widget_version
from web.views.api import identify_session
from webhooks.signing import verify, webhook_key

bp = Blueprint("demo", __name__)

PERSONAS: dict[str, dict] = {
    "anonymous": {"label": "Anonymous visitor", "userId": None,
                  "differs": "Nothing is known: every field is empty and open; standard priorities."},
    "pro": {
        "label": "Pat (pro plan, signed)", "userId": "demo-pro-1",
        "claims": {"email": "pat@example.com", "name": "Pat Pro", "plan": "pro"},
        "metadata": {"company": "Pro Ltd", "authToken": "demo-secret-token-not-shown"},
        "differs": "Email and name are signed, so they are pre-filled and locked; standard priorities; "
                   "a sensitive authToken that never reaches the page.",
    },
    "enterprise": {
        "label": "Erin (enterprise plan, signed)", "userId": "demo-ent-1",
        "claims": {"email": "erin@example.com", "name": "Erin Enterprise", "plan": "enterprise"},
        "metadata": {"company": "Big Corp"},
        "differs": "A signed enterprise plan unlocks the Critical priority.",
    },
    "claims-enterprise": {
        "label": "Cody (claims enterprise, unsigned plan)", "userId": "demo-claim-1",
        "claims": {"email": "cody@example.com"},
        "metadata": {"name": "Cody Claimer", "plan": "enterprise"},
        "differs": "Claims enterprise from the browser: pre-filled, but no Critical priority (claims unlock nothing).",
    },
}


@bp.post("/demo/persona")
def choose() -> Response:
    row = ensure_session()
    if not hmac.compare_digest(request.form.get("csrf_token", "").encode(), csrf_token(row).encode()):
        raise CSRFFailed()
    persona = PERSONAS.get(request.form.get("persona", ""))
    if persona is None:
        raise ValidationFailed(fields={"persona": ["Unknown persona."]})
    if persona["userId"] is None:
        with change_session(rotate=True) as tx:
            tx.reset()
    else:
        # What an integrator's backend would hand its page: a signed identityToken
        # (without IDENTITY_SECRET the claims are sent unsigned instead).
        secret = current_app.config["IDENTITY_SECRET"]
        body = {"userId": persona["userId"], "userMetadata": dict(persona["metadata"])}
        if secret:
            body["identityToken"] = sign_identity_token(secret, persona["userId"], persona["claims"])
        else:
            body["userMetadata"].update(persona["claims"])
        identify_session(body, warnings=[])
    return redirect(url_for("html.index"), code=303)


# The demo's own webhook receiver (``make run`` points WEBHOOK_URL here), so a
# newcomer sees signed deliveries arrive on the demo page. It checks what a
# receiver should: the Standard Webhooks signature and its timestamp's age.
RECEIVED: deque[dict] = deque(maxlen=20)
_received_lock = threading.Lock()


@bp.post("/demo/webhook")
def receive() -> tuple[str, int]:
    secret = current_app.config["WEBHOOK_SECRET"] or ""
    body = request.get_data()
    if not secret or not verify(webhook_key(secret), body, request.headers):
        return "bad signature", 401
    submission = json.loads(body)["submission"]
    with _received_lock:
        RECEIVED.appendleft({"delivery": request.headers["webhook-id"], "id": submission["id"],
                             "form": submission["form"], "userId": submission["userId"]})
    return "", 204


# The widget on a demo host page: the page plays the integrator's site, and
# /demo/widget/identity its backend, which signs who the visitor is.
@bp.get("/demo/widget")
def widget_page() -> str:
    return render_template("demo_widget.html", personas=PERSONAS, version=widget_version())


@bp.get("/demo/widget/identity")
def widget_identity() -> Response:
    persona = PERSONAS.get(request.args.get("persona", ""))
    if persona is None or persona["userId"] is None:
        raise ValidationFailed(fields={"persona": ["Unknown persona."]})
    body = {"userId": persona["userId"], "userMetadata": dict(persona["metadata"])}
    secret = current_app.config["IDENTITY_SECRET"]
    if secret:
        body["identityToken"] = sign_identity_token(secret, persona["userId"], persona["claims"])
    else:
        body["userMetadata"].update(persona["claims"])
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
