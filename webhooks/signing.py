"""Signing deliveries the Standard Webhooks way (https://www.standardwebhooks.com/).

``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` covers the
``webhook-id`` and ``webhook-timestamp`` headers too, so a receiver can refuse an
old delivery replayed and can verify with the maintained ``standardwebhooks``
libraries. ``X-Prefill-Signature`` covers the body alone (a captured delivery
verifies forever); it is still sent, unchanged, until receivers have moved.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 5 * 60  # the libraries' window, both ways


def webhook_key(secret: str) -> bytes:
    """The HMAC key of ``WEBHOOK_SECRET``.

    ``whsec_<base64>`` is decoded, as the libraries do; any other secret's UTF-8
    bytes are the key (the bytes ``X-Prefill-Signature`` was always keyed with).
    A ``whsec_`` secret that is not strict base64 raises instead of becoming a key
    that a library would derive differently.
    """
    if not secret.startswith(SECRET_PREFIX):
        key = secret.encode()
    else:
        encoded = secret[len(SECRET_PREFIX):]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError("WEBHOOK_SECRET starts with 'whsec_' but the rest is not standard base64; "
                             "use a secret without the prefix, or whsec_ and base64 of 24-64 random bytes.") from None
    if not key:
        raise ValueError("WEBHOOK_SECRET is empty: deliveries must be signed.")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(key: bytes, body: bytes, headers: Mapping[str, str], *, now: float | None = None,
           tolerance_s: int = TOLERANCE_S) -> bool:
    """True for a ``v1`` signature of this id, timestamp and body whose timestamp is
    within ``tolerance_s`` of now: a delivery replayed later fails, signature intact."""
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id, stamp = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    if not msg_id or not (stamp.isascii() and stamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        return False
    expected = sign(key, msg_id, int(stamp), body)
    return any(hmac.compare_digest(expected, s) for s in lower.get("webhook-signature", "").split())


def legacy_signature(secret: str, body: bytes) -> str:
    """``X-Prefill-Signature``: ``sha256=<hex HMAC-SHA256 of the body>``, keyed with
    the secret's text as written (``whsec_`` included). Deprecated: no timestamp."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Signer:
    """Signs each send attempt of a delivery. Made once per worker, so a malformed
    secret stops the worker at start rather than at its first delivery."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.key = webhook_key(secret)

    def headers(self, msg_id: str, body: bytes, timestamp: int) -> dict[str, str]:
        """The headers of one attempt: the id stays with the delivery (receivers
        dedupe on it), the timestamp is the attempt's, so a retry is signed afresh."""
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.key, msg_id, timestamp, body),
            # Legacy, unchanged; to be removed in a later release (docs/webhooks.md).
            "X-Prefill-Signature": legacy_signature(self.secret, body),
            "X-Prefill-Delivery": msg_id,
        }
