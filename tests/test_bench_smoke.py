"""``make bench-smoke`` in CI: the gunicorn + wrk benchmark runs end to end
(both apps, every scenario, lost submissions counted). It asserts no speed.
And the conditional form's two sides check submissions alike, so its
scenarios compare the same work."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app import ROOT, create_app
from bench.baseline import create_baseline
from bench.baseline_conditional import TABLE
from bench.providers_conditional import BUG_ANSWERS
from store.sessions import hash_token

needs_wrk = pytest.mark.skipif(not shutil.which("wrk"), reason="wrk not installed (make test installs it)")


@needs_wrk
def test_the_gunicorn_benchmark_runs_and_loses_nothing(tmp_path, postgres_url):
    out = tmp_path / "smoke.json"
    command = [sys.executable, "bench/gunicorn_bench.py", "--smoke", "--pg", postgres_url, "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = {r["scenario"]: r for r in json.loads(out.read_text())["results"]}
    submits = [f"{s}, new key each ({db})" for s in ("submit", "conditional submit") for db in ("SQLite", "PostgreSQL")]
    for name in ("HTML repeat view (SQLite)", "HTML new ?subject= each (SQLite)", "HTML new user each (SQLite)",
                 "conditional render, repeat view (SQLite)", *submits):
        row = results[name]
        assert row["prefill_rps"] > 0 and row["baseline_rps"] > 0 and row["ratio"] > 0
        assert row["prefill_errors"] == 0 and row["baseline_errors"] == 0, row
    for name in submits:
        row = results[name]
        assert row["prefill_acked"] > 0 and row["prefill_lost"] == 0 and row["baseline_lost"] == 0, row
        assert row["prefill_stored"] >= row["prefill_acked"]
    assert results["worker RSS MiB (SQLite)"]["prefill_rss_mib"]


BILLING = {"subject": "s", "category": "billing", "invoice": "I-1", "message": "m"}
ACCOUNT = {"subject": "s", "category": "account", "account_id": "A-1", "message": "m"}
SUBMISSIONS = {
    "the bug report": BUG_ANSWERS,
    "hidden fields sent": {**BUG_ANSWERS, "invoice": "I-1", "account_id": "A-1", "changes": ["plan"]},
    "a tampered locked email": {**BUG_ANSWERS, "email": "evil@example.com"},
    "critical without the API": {**BUG_ANSWERS, "products": ["web"], "severity": "critical"},
    "critical without an error code": {**BUG_ANSWERS, "severity": "critical", "error_code": ""},
    "high without steps": {**BUG_ANSWERS, "steps": ""},
    "low without steps": {**BUG_ANSWERS, "severity": "low", "steps": ""},
    "the API without a version": {**BUG_ANSWERS, "api_version": ""},
    "four platforms": {**BUG_ANSWERS, "platforms": ["windows", "linux", "macos", "ios"]},
    "an unknown platform": {**BUG_ANSWERS, "platforms": ["beos"]},
    "a refund": {**BUG_ANSWERS, **BILLING, "billing_issue": "refund", "amount": 12.5, "refund_reason": "r"},
    "a refund without an amount": {**BILLING, "billing_issue": "refund"},
    "a copy with a hidden amount": {**BILLING, "billing_issue": "copy", "amount": -3},
    "a negative charge": {**BILLING, "billing_issue": "charge", "amount": -3},
    "account changes": {**ACCOUNT, "changes": ["plan"]},
    "no account change": {**ACCOUNT, "changes": []},
    "three account changes": {**ACCOUNT, "changes": ["plan", "email", "owner"]},
    "no category": {"subject": "s", "message": "m"},
    "an unknown field": {"subject": "s", "category": "question", "message": "m", "zzz": 1},
}


@pytest.fixture(scope="module")
def both_sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, dict[str, str], dict[str, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'bench.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "PREFILL_PROVIDER_MODULES": ["bench.providers_conditional"], "GC_FREEZE_EVERY": 0})
    sessions = app.extensions["prefill"].sessions
    token, row = sessions.create()
    with sessions.change(row) as tx:
        tx.identify("u0", {"email": "u0@example.com"}, {}, True)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(TABLE))
        conn.execute(text("""UPDATE sessions SET claimed = '{"email": "u0@example.com"}'"""))
    yield (app.test_client(use_cookies=False), create_baseline(engine).test_client(use_cookies=False),
           {"Authorization": f"Bearer {token}"}, {"Cookie": f"bench={hash_token(token)}"})
    engine.dispose()
    app.extensions["prefill"].db.dispose()


@pytest.mark.parametrize("name", SUBMISSIONS)
def test_the_conditional_baseline_checks_what_prefill_checks(both_sides, name):
    prefill, baseline, ours, theirs = both_sides
    values = SUBMISSIONS[name]
    a = prefill.post("/api/forms/conditional_ticket/submissions", json={"values": values},
                     headers={**ours, "Idempotency-Key": name})
    b = baseline.post("/cond-submit", json={"values": values}, headers=theirs)
    assert a.status_code == b.status_code, (a.json, b.json)
    if a.status_code == 201:
        def answered(out: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in out["values"].items() if v not in (None, "", [])}

        assert answered(a.json) == answered(b.json)
    else:
        assert sorted(a.json["error"]["fields"]) == sorted(b.json["error"])
