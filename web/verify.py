"""Proofs of identity: ``userHash`` (who) and ``identityToken`` (who + trusted claims)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import jwt

from forms.errors import IdentityUnverified

REGISTERED_CLAIMS = frozenset({"sub", "exp", "nbf", "iat", "iss", "aud", "jti"})


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def check_user_hash(secret: str, user_id: str, given: str) -> bool:
    """Constant time, on bytes: a non-ASCII ``given`` is simply wrong, not an error."""
    return hmac.compare_digest(user_hash(secret, user_id).encode(), given.strip().lower().encode())


def verify_identity_token(
    secret: str, token: str, user_id: str, audience: str | None = None
) -> dict[str, Any]:
    """The trusted claims of a valid HS256 token for ``user_id``; else 401."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            options={"require": ["exp", "sub"], "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise IdentityUnverified("identityToken has expired.") from None
    except jwt.InvalidTokenError as exc:
        raise IdentityUnverified(f"identityToken is not valid ({type(exc).__name__}).") from None
    if claims.get("sub") != user_id:
        raise IdentityUnverified("identityToken is for another userId.")
    return {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}


def sign_identity_token(secret: str, user_id: str, claims: dict[str, Any], ttl_s: int = 3600) -> str:
    """What an integrator's backend does; used by the demo and tests."""
    import time

    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl_s, **claims}, secret, algorithm="HS256")
