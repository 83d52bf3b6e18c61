"""Signed links to attached files: the only way to a file.

A link is ``/files/<id>?expires=<unix seconds>&sig=<signature>``, the
signature an HMAC-SHA256 over the id and the expiry under a key derived from
``SECRET_KEY`` (never the key itself), so it is bound to that one file and
that one moment. ``ATTACHMENT_LINK_TTL`` (seconds, default 1 hour, at most 7
days) says how long a link lives; every read of a submission makes new ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

from flask import current_app, url_for

from forms.errors import LinkExpired, LinkInvalid

LINK_TTL_MAX = 7 * 86400


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"prefill:attachment-links:v1", hashlib.sha256).digest()


def signature(ident: str, expires: int, key: bytes | None = None) -> str:
    mac = hmac.new(key or _key(), f"{ident}\x00{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def link(ident: str, now: float | None = None) -> tuple[str, str]:
    """(an absolute signed URL for file ``ident``, its expiry as ISO 8601)."""
    expires = int((now or time.time()) + current_app.config["ATTACHMENT_LINK_TTL"])
    url = url_for("uploads.download", ident=ident, expires=expires, sig=signature(ident, expires), _external=True)
    return url, datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")


def check(ident: str, expires: str, sig: str) -> None:
    """404 for a link this Prefill did not sign, 410 for one past its expiry."""
    if not expires.isdigit() or len(expires) > 12:
        raise LinkInvalid()
    if not hmac.compare_digest(signature(ident, int(expires)).encode(), sig.encode()):
        raise LinkInvalid()
    if int(expires) < time.time():
        raise LinkExpired()


def is_files(value: Any) -> bool:
    """A file field's stored value: a list of ``{id, name, size, type}``
    (no other field type stores a list of objects)."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and str(v.get("id", "")).startswith("upl_") for v in value)


def with_links(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every file given a fresh ``url`` and its ``expiresAt``."""
    if not any(is_files(v) for v in values.values()):
        return values
    now = time.time()
    out = {}
    for name, value in values.items():
        if is_files(value):
            value = [{**item, **dict(zip(("url", "expiresAt"), link(item["id"], now), strict=True))}
                     for item in value]
        out[name] = value
    return out


def item_with_links(item: dict[str, Any]) -> dict[str, Any]:
    """A stored submission as the API shows it: its files with links."""
    values = item.get("values")
    return {**item, "values": with_links(values)} if isinstance(values, dict) else item
