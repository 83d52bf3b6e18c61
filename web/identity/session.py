"""The request's session and identity, loaded once per request onto ``g``.

A session comes from ``Authorization: Bearer <token>`` or the ``prefill_session``
cookie. A bearer token that names no live session is a 401. A cookie whose token
a sign-in or sign-out replaced moments ago is a 409 ``session_rotated`` (the
browser already holds the new cookie); any other stale cookie is simply replaced
when a session is needed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, request
from werkzeug.wrappers import Response

from forms.errors import InvalidSession, SessionRotated
from forms.identity import Identity
from store.session_change import SessionChange
from store.sessions import SessionRow
from web.state import state

COOKIE = "prefill_session"
_UNSET = object()


def _cookie(header: str) -> str | None:
    """Our cookie from a raw Cookie header: the token is URL-safe base64, never
    quoted, so a plain scan suffices (werkzeug's full parse costs ~30 µs)."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value or None
    return None


def request_token() -> tuple[str | None, bool]:
    """(the session token this request carries, whether as a bearer token)."""
    environ = request.environ
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), True
    header = environ.get("HTTP_COOKIE")
    return (_cookie(header) if header else None), False


def current_session() -> SessionRow | None:
    row = g.get("prefill_session", _UNSET)
    if row is not _UNSET:
        return row  # type: ignore[return-value]
    token, bearer = request_token()
    sessions = state().sessions
    row = sessions.load(token, remembered=request.method == "GET") if token else None
    if row is None and token:
        if bearer:
            raise InvalidSession()
        if sessions.rotated_away(token):
            # Never a new session here: its cookie would undo the sign-in or sign-out.
            raise SessionRotated()
    g.prefill_session = row
    return row


def start_session(visitor_id: str | None = None) -> tuple[str, SessionRow]:
    """A new session for this request; its cookie is set on the response."""
    token, row = state().sessions.create(visitor_id)
    g.prefill_session, g.prefill_new_token = row, token
    return token, row


@contextmanager
def change_session(rotate: bool = False) -> Iterator[SessionChange]:
    """Change the request's session in one transaction. With ``rotate`` (identify
    and reset), a change of who the session is gives a cookie session a new
    token, so one planted before is worthless (session fixation); the same user
    again keeps it, so tabs and effects run twice do not race a rotation. A
    bearer session keeps its token: the integrator's page holds it."""
    row = ensure_session()
    fresh = g.get("prefill_new_token") is not None
    with state().sessions.change(row) as tx:
        yield tx
        if rotate and tx.identity_changed and not fresh and not request_token()[1]:
            tx.rotate()
    g.prefill_session = tx.row
    if tx.new_token:
        g.prefill_new_token = tx.new_token


def ensure_session() -> SessionRow:
    """The request's session, creating one (and its cookie) when there is none."""
    row = current_session()
    if row is None:
        _, row = start_session()
    return row


def raw_identity() -> Identity:
    """The session's identity as stored (no request language), made once per
    request for its session: the view, the language and the limits all ask."""
    row = current_session()
    memo = g.get("prefill_identity")
    if memo is not None and memo[0] is row:
        return memo[1]  # type: ignore[no-any-return]
    identity = state().sessions.identity(row)
    g.prefill_identity = (row, identity)  # a sign-in in this request gives another row, so another identity
    return identity


def csrf_token(row: SessionRow) -> str:
    """A token bound to the session: HMAC of its id under the app secret."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + row.token_hash.encode(), hashlib.sha256).hexdigest()[:40]


def set_session_cookie(response: Response) -> Response:
    token = g.get("prefill_new_token")
    if token:
        cfg = current_app.config
        response.set_cookie(
            COOKIE, token, max_age=int(cfg["SESSION_TTL_DAYS"] * 86400), httponly=True,
            samesite="Lax", secure=cfg["SESSION_COOKIE_SECURE"], path="/",
        )
    return response
