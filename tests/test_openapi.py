"""The OpenAPI document, and schemathesis fuzzing the live app (gunicorn) with
it: no 5xx, every answer's status, content type, headers and body as the
document says, and no request the document forbids accepted.

Bounded: ``PREFILL_FUZZ_EXAMPLES`` examples per operation (25), with a fixed
seed (``PREFILL_FUZZ_SEED``) so a failure reproduces. Not checked:
``positive_data_acceptance``, since whether values fit a form depends on the
form that user is shown, which no static document can say.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_crash import ROOT, free_port, start_server

EXAMPLES = os.environ.get("PREFILL_FUZZ_EXAMPLES", "25")
SEED = os.environ.get("PREFILL_FUZZ_SEED", "1")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,negative_data_rejection")
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


def fuzz(port: int, *args: str) -> str:
    result = subprocess.run(
        [SCHEMATHESIS, "run", f"http://127.0.0.1:{port}/openapi.json", "--checks", CHECKS, "-n", EXAMPLES,
         "--seed", SEED, "--no-color", "--request-timeout", "10", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    summary = "\n".join(line for line in result.stdout.splitlines() if "generated" in line or "passed" in line)
    print(summary)
    assert result.returncode == 0, result.stdout[-6000:]
    return result.stdout


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(db_url):
    from .conftest import wipe

    wipe(db_url)
    port = free_port()
    server = start_server(db_url, port, {"IDENTITY_SECRET": "fuzz-identity-secret-0123456789abcdef0",
                                         "ADHOC_FORMS": "1"})
    try:
        out = fuzz(port, "--exclude-path-regex", "^/api/admin")
        assert "generated" in out
        fuzz(port, "--include-path-regex", "^/api/admin", "-H", "Authorization: Bearer admin-key")
        assert server.poll() is None  # still serving
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_document_names_every_json_endpoint(app):
    spec = app.test_client().get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    routes = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<name>", "{name}").replace("<path:user_id>", "{userId}")
        if path.startswith("/api/") or path in ("/healthz", "/readyz"):
            routes |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
    for schema in ("IdentifyBody", "SubmissionBody", "Form", "ErrorBody", "JsonValue"):
        assert schema in spec["components"]["schemas"]
    page = app.test_client().get("/docs")
    assert page.status_code == 200 and "POST /api/identify" in page.get_data(as_text=True)
