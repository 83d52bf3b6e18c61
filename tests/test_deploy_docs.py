"""docs/deploy.md's examples run: the gunicorn config serves, the cron line's
command works, and the token-minting function makes a token Prefill accepts."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from .test_crash import ROOT, free_port

DOC = (ROOT / "docs" / "deploy.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.S)


def test_the_documented_gunicorn_command_serves(sqlite_url):
    command = next(b for b in blocks("sh") if "gunicorn" in b).split()
    assert command[:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2"}
    proc = subprocess.Popen([sys.executable, "-m", *command[:3], command[3].strip('"')], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        status = None
        while time.time() < deadline and status != 200:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                status = conn.getresponse().status
            except OSError:
                time.sleep(0.2)
        assert status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_the_documented_token_minting_is_accepted(make_app, tmp_path):
    namespace: dict = {}
    exec(blocks("python")[0], namespace)  # the documented example itself
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    jwks = tmp_path / "keys.json"
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "2026-11"}
    jwks.write_text(json.dumps({"keys": [jwk]}))
    app = make_app(IDENTITY_PUBLIC_KEYS=str(jwks))
    token = namespace["identity_token"](private_pem, "u1", "enterprise")
    r = app.test_client().post("/api/identify", json={"userId": "u1", "identityToken": token})
    assert r.status_code == 200 and r.json["verified"] is True and "plan" in r.json["trustedKeys"]


def test_the_documented_cron_command_runs(app):
    cron = blocks("cron")[0]
    assert "flask --app app prefill cleanup" in cron
    result = app.test_cli_runner().invoke(args=["prefill", "cleanup"])
    assert result.exit_code == 0 and "deleted" in result.output
