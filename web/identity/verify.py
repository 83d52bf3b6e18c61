"""Proofs of identity: ``userHash`` (who) and ``identityToken`` (who + trusted claims).

A token that names itself with a ``jti`` is single-use wherever it is accepted
(an identify, an update, an embed link's exchange): one ledger of spent jtis,
so a link found later in a mail archive or a browser history opens nothing.
Tokens without a ``jti`` are reusable until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from forms.errors import IdentityUnverified
from web.identity.keys import IdentityKeys

EMBED_TOKEN_MAX_TTL_S = 600
CLOCK_SKEW_S = 5
REGISTERED_CLAIMS = frozenset({"sub", "exp", "nbf", "iat", "iss", "aud", "jti"})

# (jti, expires_ms) -> True the first time that jti is spent (store.once.use_once)
Spend = Callable[[str, int], bool]


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


def _decode(keys: IdentityKeys, token: str, audience: str | None, require: list[str]) -> dict[str, Any]:
    key = keys.for_token(token)
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            audience=audience,
            options={"require": require, "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise IdentityUnverified("identityToken has expired.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise IdentityUnverified(f"identityToken has no {exc.claim!r} claim.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise IdentityUnverified(f"identityToken is not valid ({type(exc).__name__}).") from None


def _spend_jti(claims: dict[str, Any], spend: Spend) -> str:
    """Spend the token's ``jti`` (after its signature and subject were checked,
    so nobody can burn a jti they could not sign); 401 when it was spent before."""
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 255:
        raise IdentityUnverified("identityToken's jti must be 8 to 255 characters.")
    if not spend(jti, int(exp * 1000)):
        raise IdentityUnverified("This token (its jti) was already used; ask for a new one.")
    return jti


def verify_identity_token(
    keys: IdentityKeys, token: str, user_id: str, audience: str | None = None, *, spend: Spend,
) -> dict[str, Any]:
    """The trusted claims of a valid token for ``user_id``; else 401. A token
    with a ``jti`` is spent here: an embed link is no reusable identityToken."""
    claims = _decode(keys, token, audience, ["exp", "sub"])
    if claims.get("sub") != user_id:
        raise IdentityUnverified("identityToken is for another userId.")
    if "jti" in claims:
        _spend_jti(claims, spend)
    return {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}


@dataclass(frozen=True)
class EmbedClaims:
    user_id: str
    trusted: dict[str, Any]
    jti: str
    expires_ms: int


def verify_embed_token(keys: IdentityKeys, token: str, audience: str | None = None, *, spend: Spend) -> EmbedClaims:
    """A signed embed link's token: an identity token that also names itself
    (``jti``, spent here) and expires within ``EMBED_TOKEN_MAX_TTL_S``.
    A link in an email or a framed page's URL must not stay a key for long."""
    claims = _decode(keys, token, audience, ["exp", "sub", "jti"])
    sub, exp = claims.get("sub"), claims.get("exp")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise IdentityUnverified("identityToken's sub is not a userId.")
    if not isinstance(exp, (int, float)) or exp > time.time() + EMBED_TOKEN_MAX_TTL_S + CLOCK_SKEW_S:
        raise IdentityUnverified(f"An embed link's token must expire within {EMBED_TOKEN_MAX_TTL_S // 60} minutes.")
    jti = _spend_jti(claims, spend)
    trusted = {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}
    return EmbedClaims(sub, trusted, jti, int(exp * 1000))


def sign_identity_token(
    key: Any, user_id: str, claims: dict[str, Any], ttl_s: int = 3600, *,
    algorithm: str = "HS256", kid: str | None = None,
) -> str:
    """What an integrator's backend does; used by the demo and tests."""
    now = int(time.time())
    headers = {"kid": kid} if kid else None
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl_s, **claims}, key, algorithm=algorithm,
                      headers=headers)
