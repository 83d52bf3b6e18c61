"""Opaque keyset cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import re

from forms.errors import ValidationFailed


def encode(created_at: int, ident: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{ident}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, ident = raw.split(":", 1)
        if not re.fullmatch(r"[a-z]{3}_[0-9a-f]{24}", ident) or not re.fullmatch(r"[0-9]{1,18}", at):
            raise ValueError(ident)  # created_at is a BIGINT of milliseconds: 18 digits is plenty
        return int(at), ident
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(fields={"cursor": ["Not a valid cursor."]}) from None
