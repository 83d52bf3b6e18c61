"""``make bench-smoke`` in CI: the gunicorn + wrk benchmark runs end to end
(both apps, every scenario, lost submissions counted). It asserts no speed.
The hand-written support page serves Prefill's markup for the same user, and
the JSON view's fixed document is Prefill's answer, so the repeat views
compare the same output; so do the in-process bench's baseline (bench/run.py)
page and JSON, static and read per request; and the conditional form's two
sides check submissions alike, so its scenarios compare the same work."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app import ROOT, create_app
from bench import aa_wsgi, baseline_wsgi, timed_wsgi
from bench.baseline import create_baseline
from bench.baseline_conditional import TABLE
from bench.baseline_support import bench_profile, support_json
from bench.gunicorn_bench import MODES, seed
from bench.providers_conditional import BUG_ANSWERS
from bench.run import seed_users
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
    for name in ("HTML repeat view (SQLite)", "JSON repeat view (SQLite)", "HTML new ?subject= each (SQLite)",
                 "HTML new user each (SQLite)", "conditional render, repeat view (SQLite)", *submits):
        row = results[name]
        assert row["prefill_rps"] > 0 and row["baseline_rps"] > 0 and row["ratio"] > 0
        assert row["prefill_errors"] == 0 and row["baseline_errors"] == 0, row
    for name in submits:
        row = results[name]
        assert row["prefill_acked"] > 0 and row["prefill_lost"] == 0 and row["baseline_lost"] == 0, row
        assert row["prefill_stored"] >= row["prefill_acked"]
    assert results["worker RSS MiB (SQLite)"]["prefill_rss_mib"]
    for name in ("form page bytes (SQLite)", "form JSON bytes (SQLite)"):  # the same output, near enough
        row = results[name]
        assert abs(row["prefill_bytes"] - row["baseline_bytes"]) <= 0.02 * row["prefill_bytes"], row


def test_the_aa_run_serves_the_hand_written_app_on_every_path_prefills_is_asked(tmp_path):
    """``gunicorn_bench.py --aa``: the same app on both sides, under Prefill's paths."""
    from werkzeug.test import Client

    url = f"sqlite:///{tmp_path / 'aa.sqlite3'}"
    token = seed(url, 1)[0]
    same, hand = Client(aa_wsgi.create(url)), Client(baseline_wsgi.create(url))
    auth = {"Authorization": f"Bearer {token}"}
    for _load, paths, body, _tables in MODES.values():
        if body:
            sent = body.replace("{i}", "1")
            a = same.post(paths["prefill"], data=sent, content_type="application/json", headers=auth)
            b = hand.post(paths["baseline"], data=sent, content_type="application/json", headers=auth)
            assert a.status_code == b.status_code == 201, (paths, a.text[:300])
        else:
            a, b = same.get(paths["prefill"], headers=auth), hand.get(paths["baseline"], headers=auth)
            assert a.status_code == 200 and a.text.split("csrf")[0] == b.text.split("csrf")[0], paths


def test_the_timed_wrapper_records_each_requests_own_time(tmp_path):
    """``gunicorn_bench.py --timed``: a worker writes its requests' wall and CPU time at exit."""
    from werkzeug.test import Client

    url = f"sqlite:///{tmp_path / 'timed.sqlite3'}"
    token = seed(url, 1)[0]
    app = timed_wsgi.create("baseline", str(tmp_path / "t"), url)
    client = Client(app)
    for _ in range(100):
        assert client.get("/form", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app.write()  # type: ignore[attr-defined]
    line = timed_wsgi.summary(str(tmp_path / "t"))
    found = re.match(r"sqlite\s+baseline\s+/form\s+100\s+wall p50\s+([\d.]+) p99\s+([\d.]+)\s+cpu p50\s+([\d.]+)", line)
    assert found and 0 < float(found[1]) <= float(found[2]) and float(found[3]) > 0, line


@pytest.fixture(scope="module")
def support_sides(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Prefill and the gunicorn bench's hand-written app on one database seeded
    by the bench (enterprise users); user 1 is moved to another plan."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'support.sqlite3'}"
    tokens = seed(url, 2)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("""UPDATE users SET trusted = '{"email": "u1@example.com", "plan": "pro"}' """
                          "WHERE user_id = 'bench-1'"))
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                      "PREFILL_BUILTIN_FORMS": True, "GC_FREEZE_EVERY": 0})
    yield app.test_client(use_cookies=False), baseline_wsgi.create(url).test_client(use_cookies=False), tokens
    app.extensions["prefill"].db.dispose()


def normalized(page: str) -> str:
    """Without what differs on every request (csrf_token, form_key) and the asset versions."""
    page = re.sub(r'(name="(?:csrf_token|form_key)" value=")[^"]+"', r'\1…"', page)
    return re.sub(r"\?v=[0-9a-f]+", "", page)


class Tags(HTMLParser):
    """(tag, attributes) of each start tag, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


@pytest.mark.parametrize(("user", "query"), [(0, ""), (0, "?subject=Printer%20%3Cb%3Eon%20fire"), (1, "")],
                         ids=["enterprise", "enterprise with a subject", "pro"])
def test_the_hand_written_support_page_is_prefills(support_sides, user, query):
    prefill, baseline, tokens = support_sides
    auth = {"Authorization": f"Bearer {tokens[user]}"}
    ours = prefill.get("/forms/support_ticket" + query, headers=auth)
    theirs = baseline.get("/form" + query, headers=auth)
    assert ours.status_code == theirs.status_code == 200
    a, b = normalized(ours.get_data(as_text=True)), normalized(theirs.get_data(as_text=True))
    # The same fields in the same order, with the same attributes (rules, options, ARIA) …
    assert tags(a) == tags(b)
    # … and the same bytes: text, badges, help, limits, scripts.
    assert a == b
    options = re.findall(r'<option[^>]* value="(\w*)"', a)
    assert options[-3:] == (["critical", "high", "normal"] if user == 0 else ["high", "normal", "low"])
    assert 'id="email-source">From your account<' in a and 'id="name-source">From your sign-in<' in a


def test_the_fixed_json_is_prefills_answer(support_sides):
    prefill, baseline, tokens = support_sides
    ours = prefill.get("/api/forms/support_ticket", headers={"Authorization": f"Bearer {tokens[0]}"})
    fixed = json.loads((ROOT / "bench" / "baseline_support.json").read_text())
    assert ours.status_code == 200 and ours.json == fixed
    assert baseline.get("/json-fixed").json == fixed
    assert support_json(*bench_profile(0), None) == fixed  # what the in-process baseline builds for user 0


@pytest.fixture(scope="module")
def run_sides(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Prefill and the in-process bench's baseline, static and reading the
    user's row per request, on a database seeded as bench/run.py seeds it;
    user 1 is moved to another plan with no trusted email."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'run.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "PREFILL_BUILTIN_FORMS": True, "GC_FREEZE_EVERY": 0})
    tokens = seed_users(app.extensions["prefill"].sessions, 2)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("""UPDATE users SET trusted = '{"plan": "pro"}' WHERE user_id = 'user-1'"""))
    yield (app.test_client(use_cookies=False), create_baseline().test_client(use_cookies=False),
           create_baseline(engine).test_client(use_cookies=False), tokens)
    engine.dispose()
    app.extensions["prefill"].db.dispose()


@pytest.mark.parametrize(("mode", "user", "query"), [("static", 0, "?subject=Hi"), ("DB read", 0, "?subject=Hi"),
                                                     ("DB read", 0, ""), ("DB read", 1, "?subject=Hi")],
                         ids=["static", "DB read", "DB read without a subject", "DB read, pro user"])
def test_the_in_process_baseline_serves_prefills_page_and_json(run_sides, mode, user, query):
    prefill, static, per_request, tokens = run_sides
    baseline = static if mode == "static" else per_request
    ours = {"Cookie": f"prefill_session={tokens[user]}"}
    theirs = {} if mode == "static" else {"Cookie": f"bench={hash_token(tokens[user])}"}
    a = prefill.get("/forms/support_ticket" + query, headers=ours)
    b = baseline.get("/form" + query, headers=theirs)
    assert a.status_code == b.status_code == 200
    page, hand_written = normalized(a.get_data(as_text=True)), normalized(b.get_data(as_text=True))
    assert tags(page) == tags(hand_written)
    assert page == hand_written
    assert len(re.findall(r'<div class="field ', page)) == 11
    options = re.findall(r'<option[^>]* value="(\w*)"', page)
    assert options[-3:] == (["critical", "high", "normal"] if user == 0 else ["high", "normal", "low"])
    a = prefill.get("/api/forms/support_ticket" + query, headers=ours)
    b = baseline.get("/json" + query, headers=theirs)
    assert a.status_code == b.status_code == 200
    assert a.json == b.json
    assert a.json["fields"][0]["value"] == f"u{user}@example.com"
    assert a.json["fields"][3]["value"] == ("Hi" if query else None)


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
        tx.identify("u0", {"email": "u0@example.com"}, {}, True)  # the baseline's lookup reads the profile too
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(TABLE))
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
