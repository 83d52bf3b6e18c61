"""Server-rendered forms (WTForms + Jinja2), embeddable same-site with ``?embed=1``."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from forms import wtf
from forms.errors import CSRFFailed, IdempotencyConflict, SubmissionInvalid
from forms.identity import Identity
from forms.messages import N_
from forms.resolve import ResolvedForm
from forms.validate import validate_submission
from store.idempotency import request_hash, scoped_key
from store.sessions import SessionRow
from web.identity.current import current_identity
from web.identity.session import csrf_token, current_session, ensure_session, request_token
from web.render.pages import form_page, hidden_inputs, new_form_key, render_form, schema_input, sent_values
from web.state import state
from web.uploads.claims import file_fields
from web.uploads.formpost import FormPost, digest_values, read_form_post, shown_files
from web.uploads.links import with_links
from web.uploads.multipart import is_multipart
from web.views.api import form_args
from web.views.demo import PERSONAS, RECEIVED
from web.views.submit import store_submission

bp = Blueprint("html", __name__)
FORM_KEY = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")


def shell_page() -> Response:
    """The widget's panel before it has handed over the session: a page that
    waits for it, made without touching the database (no throwaway session)."""
    return Response(render_template("shell.html", embed=True), mimetype="text/html")


def waits_for_widget(embed: bool) -> bool:
    """Only a bearer token counts: on the widget's own site the frame also
    carries the site's cookie, whose (often anonymous) form must not flash first."""
    return embed and request.args.get("widget") == "1" and not request_token()[1]


@bp.get("/forms/<name>")
def show(name: str) -> Response:
    embed = request.args.get("embed") == "1"
    if waits_for_widget(embed):
        state().registry.get(name)  # an unknown form is a 404, in the panel too
        return shell_page()
    row = ensure_session()  # CSRF is bound to a session, so a first visit starts one
    form = state().engine.resolve(name, form_args(), current_identity())
    page = form_page(form, csrf_token(row), embed)
    return Response(page, mimetype="text/html")


def handle_post(
    name: str, args: dict[str, str], form: ResolvedForm, row: SessionRow, identity: Identity,
    done: Callable[[dict[str, Any]], Response], schema: dict[str, Any] | None = None,
) -> Response | tuple[Response, int]:
    """A posted form: CSRF (for cookie sessions), its one-time key, validation,
    storage; ``done(answer)`` is the success page. ``schema``: an ad-hoc form's."""
    embed = request.args.get("embed") == "1"
    csrf = csrf_token(row)
    bearer = request_token()[1]
    # A form with file fields posts multipart: its files are streamed to storage as they arrive.
    post: FormPost | None = None
    if is_multipart() and file_fields(form) and "form" not in request.__dict__:  # not parsed yet (by werkzeug)
        post = read_form_post(form, name, row, identity.user_id, None if bearer else csrf)
    formdata = post.formdata if post is not None else request.form
    shown = wtf.values_from_formdata(form, formdata)
    for f in file_fields(form):  # ids kept from an earlier post (or uploaded by script), then this post's files
        new = [r.id for r in post.received.get(f.name, ())] if post is not None else []
        shown[f.name] = [v for v in formdata.getlist(f.name) if v] + new
    for f in form.fields:  # locked fields always show the known value
        if f.disabled:
            shown[f.name] = f.value
    # The page's one-time key: a double click or a retry of this post is one submission.
    form_key = formdata.get("form_key", "")
    if not FORM_KEY.match(form_key):
        form_key = new_form_key()  # missing or tampered: this post is its own intent
    extra = schema_input(schema)
    hidden = hidden_inputs(csrf, form_key) + extra
    # A bearer token is never sent by a browser on its own: such a post is not CSRF-able.
    csrf_bad = not bearer and not hmac.compare_digest(formdata.get("csrf_token", "").encode(), csrf.encode())
    if csrf_bad or (post is not None and post.csrf_failed):
        err = CSRFFailed()
        page = render_form(form, hidden_inputs(csrf, new_form_key()) + extra, embed,
                           shown=shown_files(form, shown, row), notice=err)
        return Response(page, status=err.status, mimetype="text/html")
    key = scoped_key(identity, "form:" + form_key)
    digest = request_hash(name, args, digest_values(shown, post), identity)
    st = state()
    try:
        found = st.submissions.replay(row.visitor_id, key, digest)
        if found is None:
            try:
                clean = validate_submission(form, shown)
            except SubmissionInvalid as err:
                if post is not None and post.errors:  # a file not kept, with the other fields' errors
                    err.fields = {**(err.fields or {}), **post.errors}
                raise
            if post is not None and post.errors:
                raise SubmissionInvalid(fields=post.errors)
            _, body, _, _ = store_submission(name, {} if schema is not None else args, clean, row, identity, key,
                                             digest, schema=schema, form=form)
        else:
            body = found[1]
    except SubmissionInvalid as err:
        err.message = N_("Please correct the fields marked below.")
        page = render_form(form, hidden, embed, shown=shown_files(form, shown, row), errors=err.fields, notice=err)
        return Response(page, status=422, mimetype="text/html")
    except IdempotencyConflict as err:  # this page was sent before, with other values
        err.message = N_("This form was already sent. Check the values and send it again as a new request.")
        page = render_form(form, hidden_inputs(csrf, new_form_key()) + extra, embed,
                           shown=shown_files(form, shown, row), notice=err)
        return Response(page, status=err.status, mimetype="text/html")
    return done(body)


@bp.post("/forms/<name>")
def submit(name: str) -> Response | tuple[Response, int]:
    row = ensure_session()
    args = form_args()
    st = state()
    identity = current_identity()
    form = st.engine.resolve(name, args, identity)
    embed = request.args.get("embed") == "1"

    def done(body: dict[str, Any]) -> Response:
        target = url_for("html.thanks", name=name, ref=body["id"], embed="1" if embed else None)
        return redirect(target, code=303)

    return handle_post(name, args, form, row, identity, done)


@bp.get("/forms/<name>/thanks")
def thanks(name: str) -> Response:
    st = state()
    provider = st.registry.get(name)
    embed = request.args.get("embed") == "1"
    ref = request.args.get("ref", "")[:40]
    row = current_session()
    sent: list[Any] = []
    if ref and row is not None:  # what was sent, when this session may see it (files by fresh signed links)
        identity = current_identity()
        item = st.submissions.one(ref, identity, row.visitor_id)
        if item is not None and item["form"] == name:
            sent = sent_values(st.engine.resolve(name, item["args"], identity), with_links(item["values"]))
    page = render_template("thanks.html", title=provider.title or name, ref=ref, sent=sent,
                           embed=embed, again=url_for("html.show", name=name, embed="1" if embed else None))
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
        row = ensure_session()
        context.update(personas=PERSONAS, csrf=csrf_token(row), me=current_identity(),
                       webhooks=list(RECEIVED), webhook_url=current_app.config["WEBHOOK_URL"])
    return Response(render_template("index.html", **context), mimetype="text/html")
