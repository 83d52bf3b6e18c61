"""One handler per surface: every error becomes ``{"error": {...}}`` or an HTML page."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from forms import errors as E
from forms.messages import N_
from forms.sensitive import redact
from web.plumbing.limits import rate_limited
from web.render.i18n import translate

log = logging.getLogger("prefill.web")

_HTTP = {
    400: E.ValidationFailed, 401: E.Unauthorized, 404: E.NotFound, 405: E.MethodNotAllowed,
    413: E.PayloadTooLarge,
}


def wants_html() -> bool:
    return (request.blueprint in ("html", "demo", "devtools") or request.path in ("/", "/favicon.ico", "/docs")
            or request.path.startswith("/widget/"))  # the widget's panel pages


# What an end user is told on an HTML error page: short and safe. The details
# (the registered forms, a schema's problems) go to the log, and to the page
# only with PREFILL_DEV=1; the JSON API keeps them, integrators need them.
PUBLIC_MESSAGES = {
    400: N_("The request could not be understood."), 401: N_("Please sign in to see this page."),
    403: N_("This page cannot be used from here."), 404: N_("This page does not exist."),
    405: N_("This page cannot be used that way."), 413: N_("What was sent is too large."),
    415: N_("What was sent is in a form we cannot read."), 422: N_("Some values need a look."),
    429: N_("Too many requests; please wait a moment and try again."),
    500: N_("Something went wrong on our side."), 502: N_("A service this form needs is not answering."),
    503: N_("We are briefly unavailable; please try again shortly."),
    504: N_("A service this form needs took too long."),
}
KEEP_MESSAGE = (E.CSRFFailed, E.IdentityRequired, E.SessionRotated)  # already written for end users


def present(err: E.PrefillError) -> tuple[Response, int]:
    if wants_html():
        dev = current_app.config.get("PREFILL_DEV")
        public = err.message if dev or isinstance(err, KEEP_MESSAGE) else PUBLIC_MESSAGES.get(
            err.status, N_("Something went wrong."))
        if public != err.message:
            log.info("HTML %s page for %s %s: %s", err.status, request.method, request.path, err.message)
        page = render_template("error.html", error=err, public_message=translate(public), show_fields=bool(dev),
                               embed=request.args.get("embed") == "1")
        response = Response(page, mimetype="text/html")
    else:
        response = jsonify(err.to_dict())
        response.headers["Cache-Control"] = "no-store"
    if err.retry_after is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response, err.status


def _store_down(err: Exception) -> bool:
    """The database could not be reached, a connection to it died, no pooled
    connection came free in time, or SQLite stayed locked: a 503, never a 500."""
    return isinstance(err, (OperationalError, InterfaceError, PoolTimeout))


def _request_secrets() -> frozenset[str]:
    row = g.get("prefill_session")
    if not row:
        return frozenset()
    st = current_app.extensions["prefill"]
    identity = st.sessions.identity(row)
    return st.sensitive.secret_values(identity.metadata, identity.session_metadata)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(E.PrefillError)
    def _prefill(err: E.PrefillError) -> tuple[Response, int]:
        if err.status >= 500:  # a provider's or a schema's failure: the operator must see it
            log.warning("%s %s: %s: %s", request.method, request.path, err.code, err.message)
        return present(err)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> tuple[Response, int]:
        if isinstance(err, RateLimitExceeded):
            return present(rate_limited(err, app.extensions["prefill"].limiter))
        cls = _HTTP.get(err.code or 500)
        if cls is None:
            mapped = E.PrefillError(err.description)
            mapped.status, mapped.code = err.code or 500, "http_error"
            return present(mapped)
        response, status = present(cls())
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> tuple[Response, int]:
        if _store_down(err):
            log.warning("database unreachable on %s %s: %s", request.method, request.path, type(err).__name__)
            return present(E.StoreUnavailable())
        if isinstance(err, DBAPIError):
            # The driver's text can quote row values (PostgreSQL's DETAIL): log
            # what failed, never the data. Parameters are hidden by the engine.
            log.error("database error on %s %s: %s (SQLSTATE %s) in: %s", request.method, request.path,
                      type(err.orig).__name__, getattr(err.orig, "sqlstate", None), err.statement)
        else:
            # The exception's text may quote the user's metadata: log it without secrets.
            log.error("unhandled error on %s %s:\n%s", request.method, request.path,
                      redact(traceback.format_exc(), _request_secrets()))
        return present(E.PrefillError())
