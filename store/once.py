"""Tokens that may be used once: any token with a ``jti`` (an embed link's,
or an identityToken that names itself), wherever it is presented.

The database settles it (a primary key on the jti's hash), so a token replayed
to another worker or instance is refused just the same. A row lives until its
token would have expired anyway; expired rows go as new ones arrive.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from .db import now_ms
from .tables import used_tokens as U


def use_once(engine: Engine, jti: str, expires_ms: int) -> bool:
    """True the first time ``jti`` is used, False ever after (until it expires)."""
    digest = hashlib.sha256(jti.encode()).hexdigest()
    try:
        with engine.begin() as conn:
            conn.execute(delete(U).where(U.c.expires_at < now_ms()))
            conn.execute(insert(U).values(jti_hash=digest, expires_at=expires_ms))
    except IntegrityError:
        return False
    return True
