"""CORS for the JSON API: the widget on an operator's sites calls it cross-origin.

Only origins in ``WIDGET_ORIGINS`` are answered (default none: same-origin use
only). The widget authenticates with ``Authorization: Bearer`` and never with
cookies, so credentials mode is never allowed. A request that carries a foreign
``Origin`` is refused before it does anything, preflighted or not.
"""

from __future__ import annotations

from flask import Response, request

from forms.errors import OriginNotAllowed
from web.plumbing.origins import is_allowed

ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
EXPOSE_HEADERS = "Deprecation, Retry-After, X-Request-Id"
MAX_AGE = "600"
PRIVATE_VARY = "Cookie, Authorization"  # what web.views.api.private sets


def _is_api() -> bool:
    """The widget's API; the admin API is for servers and is never answered cross-origin."""
    path = request.path
    return path.startswith("/api/") and not path.startswith("/api/admin")


def preflight_or_refuse() -> Response | None:
    """Before any API view: answer a preflight, refuse a foreign origin (403)."""
    if not _is_api():
        return None
    origin = request.environ.get("HTTP_ORIGIN")
    if origin is None:
        return None  # not a cross-origin browser request: server to server, or same-origin GET
    if not is_allowed(origin):
        raise OriginNotAllowed()
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
        return response
    return None


def cors_headers(response: Response) -> Response:
    """After every API answer, errors included, so the widget can read them."""
    if not _is_api():
        return response
    vary = response.headers.get("Vary")
    if vary is None or vary == PRIVATE_VARY:  # the usual answers: no header to parse
        response.headers["Vary"] = "Origin" if vary is None else PRIVATE_VARY + ", Origin"
    else:
        response.vary.add("Origin")
    origin = request.environ.get("HTTP_ORIGIN")
    if origin is not None and is_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response
