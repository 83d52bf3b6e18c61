"""Proofs of identity: ``userHash`` (who) and ``identityToken`` (who + trusted claims)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import jwt

from forms.errors import IdentityUnverified

from .keys import IdentityKeys

REGISTERED_CLAIMS = frozenset({"sub", "exp", "nbf", "iat", "iss", "aud", "jti"})


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def check_user_hash(secrets: tuple[str, ...], user_id: str, given: str) -> bool:
    """Constant time, on bytes: a non-ASCII ``given`` is simply wrong, not an error.
    Any of the HMAC secrets may have made it (rotation)."""
    given_bytes = given.strip().lower().encode()
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(user_hash(secret, user_id).encode(), given_bytes)
    return found


def verify_identity_token(
    keys: IdentityKeys, token: str, user_id: str, audience: str | None = None
) -> dict[str, Any]:
    """The trusted claims of a valid token for ``user_id``; else 401."""
    key = keys.for_token(token)
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            audience=audience,
            options={"require": ["exp", "sub"], "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise IdentityUnverified("identityToken has expired.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise IdentityUnverified(f"identityToken is not valid ({type(exc).__name__}).") from None
    if claims.get("sub") != user_id:
        raise IdentityUnverified("identityToken is for another userId.")
    return {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}


def sign_identity_token(
    key: Any, user_id: str, claims: dict[str, Any], ttl_s: int = 3600, *,
    algorithm: str = "HS256", kid: str | None = None,
) -> str:
    """What an integrator's backend does; used by the demo and tests."""
    now = int(time.time())
    headers = {"kid": kid} if kid else None
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl_s, **claims}, key, algorithm=algorithm,
                      headers=headers)
