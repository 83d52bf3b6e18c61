"""The keys that may sign an ``identityToken``, each with its one algorithm.

- ``IDENTITY_SECRET``: one HS256 secret, for tokens without ``kid``.
- ``IDENTITY_SECRETS``: ``kid=secret,kid=secret``: HS256 by ``kid``, so a new
  secret can be added, then the old one removed, with no downtime.
- ``IDENTITY_PUBLIC_KEYS``: a PEM public key (tokens without ``kid``) or a JWKS
  file (by ``kid``): RS256, ES256 or EdDSA. The integrator keeps the private
  key, so a leaked Prefill configuration cannot forge identities; a file with
  a private key in it is refused at start-up.

A token's header picks the key (``kid``, else the kid-less key of its ``alg``);
the key fixes the algorithm, so no token can make Prefill verify an HS256
signature with a public key's bytes (key confusion) or accept ``alg: none``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from forms.errors import IdentityUnverified


@dataclass(frozen=True)
class VerifyKey:
    kid: str | None
    alg: str
    key: Any  # an HS256 secret (str) or a public key object


def _alg_of(public_key: Any, where: str) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise ValueError(f"{where}: only RSA, EC P-256 and Ed25519 public keys are supported")


def _parse_secrets(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return dict(value)
    pairs: dict[str, str] = {}
    for item in (value or "").split(","):
        if item.strip():
            kid, sep, secret = item.strip().partition("=")
            if not sep or not kid or not secret:
                raise ValueError("IDENTITY_SECRETS must look like 'kid1=secret1,kid2=secret2'")
            pairs[kid] = secret
    return pairs


def _load_public_keys(path: str) -> list[VerifyKey]:
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        raise ValueError(f"IDENTITY_PUBLIC_KEYS ({path}) holds a private key: give Prefill the public key only")
    if data.lstrip().startswith(b"{"):
        keys = []
        for jwk in json.loads(data).get("keys", []):
            if "d" in jwk or "p" in jwk:
                raise ValueError(f"IDENTITY_PUBLIC_KEYS ({path}): key {jwk.get('kid')!r} is private")
            if not jwk.get("kid"):
                raise ValueError(f"IDENTITY_PUBLIC_KEYS ({path}): every JWKS key needs a 'kid'")
            public = jwt.PyJWK(jwk).key
            alg = _alg_of(public, f"IDENTITY_PUBLIC_KEYS key {jwk['kid']!r}")
            if jwk.get("alg") not in (None, alg):
                raise ValueError(f"IDENTITY_PUBLIC_KEYS key {jwk['kid']!r}: alg {jwk['alg']} does not fit its key")
            keys.append(VerifyKey(jwk["kid"], alg, public))
        return keys
    public = serialization.load_pem_public_key(data)
    return [VerifyKey(None, _alg_of(public, f"IDENTITY_PUBLIC_KEYS ({path})"), public)]


@dataclass
class IdentityKeys:
    by_kid: dict[str, VerifyKey] = field(default_factory=dict)
    kidless: dict[str, VerifyKey] = field(default_factory=dict)  # by algorithm
    hmac_secrets: tuple[str, ...] = ()  # what a userHash may be made with
    required: bool = True  # IDENTITY_VERIFICATION: False ("optional") takes an identify without proof as a claim

    @classmethod
    def from_config(cls, cfg: Any) -> IdentityKeys:
        keys = cls()
        hs = []
        if cfg.get("IDENTITY_SECRET"):
            keys.kidless["HS256"] = VerifyKey(None, "HS256", cfg["IDENTITY_SECRET"])
            hs.append(cfg["IDENTITY_SECRET"])
        for kid, secret in _parse_secrets(cfg.get("IDENTITY_SECRETS")).items():
            keys.by_kid[kid] = VerifyKey(kid, "HS256", secret)
            hs.append(secret)
        if cfg.get("IDENTITY_PUBLIC_KEYS"):
            for key in _load_public_keys(cfg["IDENTITY_PUBLIC_KEYS"]):
                if key.kid is None:
                    keys.kidless[key.alg] = key
                elif key.kid in keys.by_kid:
                    raise ValueError(f"kid {key.kid!r} is in both IDENTITY_SECRETS and IDENTITY_PUBLIC_KEYS")
                else:
                    keys.by_kid[key.kid] = key
        keys.hmac_secrets = tuple(hs)
        keys.required = cfg.get("IDENTITY_VERIFICATION") != "optional"
        return keys

    @property
    def enabled(self) -> bool:
        """Identity verification is on: some key is configured."""
        return bool(self.by_kid or self.kidless)

    def for_token(self, token: str) -> VerifyKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise IdentityUnverified(f"identityToken is not valid ({type(exc).__name__}).") from None
        kid, alg = header.get("kid"), header.get("alg")
        if kid is not None:
            key = self.by_kid.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise IdentityUnverified("identityToken names a key (kid) that is not configured.")
        else:
            key = self.kidless.get(alg) if isinstance(alg, str) else None
            if key is None:
                raise IdentityUnverified("identityToken has no kid and no configured key of its algorithm.")
        if alg != key.alg:
            raise IdentityUnverified(f"identityToken must be signed with {key.alg} for this key.")
        return key
