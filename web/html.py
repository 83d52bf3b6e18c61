"""Server-rendered forms (WTForms + Jinja2), embeddable same-site with ``?embed=1``."""

from __future__ import annotations

import hmac
import re

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from forms import wtf
from forms.errors import CSRFFailed, IdempotencyConflict, SubmissionInvalid
from forms.validate import validate_submission
from store.submissions import request_hash, scoped_key

from .api import form_args
from .context import csrf_token, current_identity, ensure_session
from .rendering import form_page, hidden_inputs, new_form_key, render_form
from .state import state
from .submit import store_submission

bp = Blueprint("html", __name__)
FORM_KEY = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")


@bp.get("/forms/<name>")
def show(name: str) -> Response:
    row = ensure_session()  # CSRF is bound to a session, so a first visit starts one
    form = state().engine.resolve(name, form_args(), current_identity())
    page = form_page(form, csrf_token(row), request.args.get("embed") == "1")
    return Response(page, mimetype="text/html")


@bp.post("/forms/<name>")
def submit(name: str) -> Response | tuple[Response, int]:
    row = ensure_session()
    args = form_args()
    st = state()
    identity = st.sessions.identity(row)
    form = st.engine.resolve(name, args, identity)
    embed = request.args.get("embed") == "1"
    csrf = csrf_token(row)
    shown = wtf.values_from_formdata(form, request.form)
    for f in form.fields:  # locked fields always show the known value
        if f.disabled:
            shown[f.name] = f.value
    # The page's one-time key: a double click or a retry of this post is one submission.
    form_key = request.form.get("form_key", "")
    if not FORM_KEY.match(form_key):
        form_key = new_form_key()  # missing or tampered: this post is its own intent
    hidden = hidden_inputs(csrf, form_key)
    if not hmac.compare_digest(request.form.get("csrf_token", "").encode(), csrf.encode()):
        err = CSRFFailed()
        page = render_form(form, hidden_inputs(csrf, new_form_key()), embed, shown=shown, notice=err)
        return Response(page, status=err.status, mimetype="text/html")
    key = scoped_key(identity, "form:" + form_key)
    digest = request_hash(name, args, shown, identity)
    try:
        found = st.submissions.replay(row.visitor_id, key, digest)
        if found is None:
            clean = validate_submission(form, shown)
            _, body, _ = store_submission(name, args, clean, row, key, digest)
        else:
            body = found[1]
    except SubmissionInvalid as err:
        err.message = "Please correct the fields marked below."
        page = render_form(form, hidden, embed, shown=shown, errors=err.fields, notice=err)
        return Response(page, status=422, mimetype="text/html")
    except IdempotencyConflict as err:  # this page was sent before, with other values
        err.message = "This form was already sent. Check the values and send it again as a new request."
        page = render_form(form, hidden_inputs(csrf, new_form_key()), embed, shown=shown, notice=err)
        return Response(page, status=err.status, mimetype="text/html")
    target = url_for("html.thanks", name=name, ref=body["id"], embed="1" if embed else None)
    return redirect(target, code=303)


@bp.get("/forms/<name>/thanks")
def thanks(name: str) -> Response:
    provider = state().registry.get(name)
    page = render_template("thanks.html", title=provider.title or name, ref=request.args.get("ref", "")[:40],
                           embed=request.args.get("embed") == "1", name=name)
    return Response(page, mimetype="text/html")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it on every page; the pages also link the SVG."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/")
def index() -> Response:
    st = state()
    demo = current_app.config["PREFILL_DEMO"]
    forms = [{"name": p.name, "title": p.title or p.name} for p in st.registry]
    context: dict = {"forms": forms, "demo": demo}
    if demo:
        from .demo import PERSONAS, RECEIVED

        row = ensure_session()
        context.update(personas=PERSONAS, csrf=csrf_token(row), me=current_identity(),
                       webhooks=list(RECEIVED), webhook_url=current_app.config["WEBHOOK_URL"])
    return Response(render_template("index.html", **context), mimetype="text/html")
