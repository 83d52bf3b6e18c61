"""``make bench-smoke`` in CI: the gunicorn + wrk benchmark runs end to end
(both apps, every scenario, lost submissions counted). It asserts no speed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from app import ROOT

pytestmark = pytest.mark.skipif(not shutil.which("wrk"), reason="wrk not installed (make test installs it)")


def test_the_gunicorn_benchmark_runs_and_loses_nothing(tmp_path, postgres_url):
    out = tmp_path / "smoke.json"
    command = [sys.executable, "bench/gunicorn_bench.py", "--smoke", "--pg", postgres_url, "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = {r["scenario"]: r for r in json.loads(out.read_text())["results"]}
    for name in ("HTML repeat view (SQLite)", "HTML new ?subject= each (SQLite)", "HTML new user each (SQLite)",
                 "submit, new key each (SQLite)", "submit, new key each (PostgreSQL)"):
        row = results[name]
        assert row["prefill_rps"] > 0 and row["baseline_rps"] > 0 and row["ratio"] > 0
        assert row["prefill_errors"] == 0 and row["baseline_errors"] == 0, row
    for name in ("submit, new key each (SQLite)", "submit, new key each (PostgreSQL)"):
        row = results[name]
        assert row["prefill_acked"] > 0 and row["prefill_lost"] == 0 and row["baseline_lost"] == 0, row
        assert row["prefill_stored"] >= row["prefill_acked"]
    assert results["worker RSS MiB (SQLite)"]["prefill_rss_mib"]
