"""Idempotency: what keys a retried submission, and what tells a retry from
another request under the same key. Both are scoped to who submits, so a
replay never crosses from one identity to another on a shared computer."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from forms.identity import Identity


def _who(identity: Identity) -> str:
    """Who is submitting: replay never crosses from one identity to another on a
    shared computer (after resetUser, or another user on the same browser)."""
    if identity.user_id is None:
        return "anonymous"
    return ("verified:" if identity.is_verified else "claimed:") + identity.user_id


def scoped_key(identity: Identity, key: str) -> str:
    """The stored idempotency key: the client's key within its identity."""
    return hashlib.sha256(f"{_who(identity)}\x00{key}".encode()).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode  # one encoder, not one per call


def request_hash(form: str, args: dict[str, str], values: dict[str, Any], identity: Identity) -> str:
    canonical = _CANONICAL({"form": form, "args": args, "values": values, "who": _who(identity)})
    return hashlib.sha256(canonical.encode()).hexdigest()
