"""Issuing the identifiers a browser keeps: session tokens and visitor ids.

A visitorId carries an HMAC tag, so Prefill only ever takes back one it issued:
a page cannot adopt someone else's visitorId (and with it their anonymous
history) by sending it to ``POST /api/session``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from .db import now_ms

_ALNUM = string.ascii_lowercase + string.digits
VISITOR_ID_MAX = 64  # the visitor_id column
_TAG = 16  # hex characters of HMAC-SHA256: 64 bits


def hash_token(token: str) -> str:
    """Session tokens are stored only as this hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class VisitorIds:
    """``v_<unix ms>_<12 random><16 hex tag>``: 44 characters, fits the column."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"prefill visitor id:" + secret.encode()).digest()

    def _tag(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:_TAG]

    def issue(self) -> str:
        body = f"v_{now_ms()}_{''.join(secrets.choice(_ALNUM) for _ in range(12))}"
        return body + self._tag(body)

    def is_ours(self, visitor_id: str) -> bool:
        """True for a well-formed visitorId this Prefill (this SECRET_KEY) issued."""
        if len(visitor_id) > VISITOR_ID_MAX or not visitor_id.isascii():
            return False
        body, tag = visitor_id[:-_TAG], visitor_id[-_TAG:]
        return hmac.compare_digest(self._tag(body), tag)
