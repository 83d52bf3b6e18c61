"""Identity keys: rotation by kid, asymmetric tokens an integrator alone can
sign, and no key confusion (attacks with forged, mismatched and none tokens)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from app import create_app
from web.identity.verify import sign_identity_token, user_hash

S1, S2 = "rotation-secret-one-0123456789abcdef0123", "rotation-secret-two-0123456789abcdef0123"


def priorities(client):
    form = client.get("/api/forms/support_ticket").json
    return [o["value"] for f in form["fields"] if f["name"] == "priority" for o in f["options"]]


def identify(client, user_id, **proof):
    return client.post("/api/identify", json={"userId": user_id, **proof})


def pem(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims: dict, secret: bytes | None) -> str:
    """A token built by hand, as an attacker would (PyJWT refuses to make some)."""
    signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    sig = b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest()) if secret is not None else ""
    return f"{signing}.{sig}"


def claims(user_id="u1", **extra):
    return {"sub": user_id, "exp": int(time.time()) + 600, **extra}


# -- rotation ----------------------------------------------------------------
def test_secrets_rotate_by_kid(make_app):
    both = make_app(IDENTITY_SECRETS=f"2026-10={S1},2026-11={S2}").test_client()
    for kid, secret in (("2026-10", S1), ("2026-11", S2)):
        token = sign_identity_token(secret, "u1", {"plan": "enterprise"}, kid=kid)
        assert identify(both, "u1", identityToken=token).status_code == 200
    assert priorities(both)[0] == "critical"
    assert identify(both, "u1", userHash=user_hash(S2, "u1")).status_code == 200  # any current secret
    old_gone = make_app(IDENTITY_SECRETS=f"2026-11={S2}").test_client()
    r = identify(old_gone, "u1", identityToken=sign_identity_token(S1, "u1", {}, kid="2026-10"))
    assert r.status_code == 401 and "kid" in r.json["error"]["message"]
    wrong = sign_identity_token(S1, "u1", {}, kid="2026-11")  # a known kid, the wrong secret
    assert identify(old_gone, "u1", identityToken=wrong).status_code == 401


# -- asymmetric keys -------------------------------------------------------------
@pytest.fixture(scope="module")
def keypairs():
    return {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }


def jwks(keypairs, tmp_path):
    export = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}
    keys = [{**export[alg].to_jwk(k.public_key(), as_dict=True), "kid": f"k-{alg}"} for alg, k in keypairs.items()]
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    return str(path)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_tokens_signed_by_the_integrators_private_key(make_app, keypairs, tmp_path, alg):
    c = make_app(IDENTITY_PUBLIC_KEYS=jwks(keypairs, tmp_path)).test_client()
    token = sign_identity_token(keypairs[alg], "u1", {"plan": "enterprise"}, algorithm=alg, kid=f"k-{alg}")
    r = identify(c, "u1", identityToken=token)
    assert r.status_code == 200 and r.json["verified"] is True
    assert priorities(c)[0] == "critical"
    other = {"RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
             "ES256": ec.generate_private_key(ec.SECP256R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate()}[alg]
    forged = sign_identity_token(other, "u1", {"plan": "enterprise"}, algorithm=alg, kid=f"k-{alg}")
    assert identify(make_app(IDENTITY_PUBLIC_KEYS=jwks(keypairs, tmp_path)).test_client(), "u1",
                    identityToken=forged).status_code == 401


def test_a_pem_public_key_verifies_kidless_tokens(make_app, keypairs, tmp_path):
    path = tmp_path / "key.pem"
    path.write_bytes(pem(keypairs["RS256"].public_key()))
    app = make_app(IDENTITY_PUBLIC_KEYS=str(path))
    token = sign_identity_token(keypairs["RS256"], "u1", {}, algorithm="RS256")
    assert identify(app.test_client(), "u1", identityToken=token).status_code == 200
    r = identify(app.test_client(), "u1", userHash=user_hash(S1, "u1"))  # no shared secret: no userHash
    assert r.status_code == 401 and "identityToken" in r.json["error"]["message"]


def test_key_confusion_and_none_are_refused(make_app, keypairs, tmp_path):
    path = tmp_path / "key.pem"
    public_pem = pem(keypairs["RS256"].public_key())
    path.write_bytes(public_pem)
    pem_app = make_app(IDENTITY_PUBLIC_KEYS=str(path))
    jwks_app = make_app(IDENTITY_PUBLIC_KEYS=jwks(keypairs, tmp_path), IDENTITY_SECRETS=f"hs={S1}")
    attacks = [
        (pem_app, hand_made({"alg": "HS256", "typ": "JWT"}, claims(plan="enterprise"), public_pem)),
        (jwks_app, hand_made({"alg": "HS256", "kid": "k-RS256"}, claims(plan="enterprise"), public_pem)),
        (jwks_app, hand_made({"alg": "HS256", "kid": "k-RS256"}, claims(plan="enterprise"), public_pem.strip())),
        (pem_app, hand_made({"alg": "none"}, claims(plan="enterprise"), None)),
        (jwks_app, hand_made({"alg": "none", "kid": "hs"}, claims(plan="enterprise"), None)),
        (jwks_app, sign_identity_token(keypairs["ES256"], "u1", {}, algorithm="ES256", kid="k-RS256")),
        (jwks_app, hand_made({"alg": "HS256", "kid": ["hs"]}, claims(), S1.encode())),
    ]
    for app, token in attacks:
        c = app.test_client()
        r = identify(c, "u1", identityToken=token)
        assert r.status_code == 401 and r.json["error"]["code"] == "identity_unverified", token
        assert c.get("/api/me").json["verified"] is False


@pytest.mark.parametrize(("content", "message"), [
    (lambda k: k["RS256"].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()), "private key"),
    (lambda k: json.dumps({"keys": [{**RSAAlgorithm.to_jwk(k["RS256"], as_dict=True), "kid": "x"}]}).encode(),
     "private"),
    (lambda k: json.dumps({"keys": [RSAAlgorithm.to_jwk(k["RS256"].public_key(), as_dict=True)]}).encode(), "kid"),
])
def test_key_files_that_would_let_prefill_sign_are_refused(sqlite_url, keypairs, tmp_path, content, message):
    path = tmp_path / "keys"
    path.write_bytes(content(keypairs))
    with pytest.raises(ValueError, match=message):
        create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                    "IDENTITY_PUBLIC_KEYS": str(path)})


def test_jwt_library_refuses_hmac_with_pem_bytes():
    # Belt and braces: even if a key were misconfigured, PyJWT will not HMAC with a PEM.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode(hand_made({"alg": "HS256"}, claims(), pem(key)), pem(key), algorithms=["HS256"])
