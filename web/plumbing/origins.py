"""Which web origins may change state with a session cookie.

A page on another origin of the same site carries the ``SameSite=Lax`` cookie,
so without this check it could file tickets in a visitor's name, sign them in
as someone else or reset them. Bearer-token requests are not CSRF-able: the
token is never sent by a browser on its own.
"""

from __future__ import annotations

from flask import current_app, request

from forms.errors import OriginNotAllowed
from web.identity.session import request_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def own_origin() -> str:
    return f"{request.scheme}://{request.host}"


def is_allowed(origin: str) -> bool:
    return origin == own_origin() or origin in current_app.config["WIDGET_ORIGINS"]


def check_state_change() -> None:
    """403 for a cookie-authenticated change sent by a page of a foreign origin."""
    if request.method in SAFE_METHODS or request_token()[1]:
        return
    origin = request.headers.get("Origin")
    if origin is None:
        # No Origin: not a browser's cross-origin request, unless Fetch Metadata says so.
        if request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none"):
            return
        raise OriginNotAllowed()
    if not is_allowed(origin):
        raise OriginNotAllowed()
