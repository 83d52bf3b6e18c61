"""Prefill vs hand-written Flask + WTForms, production-shaped: both under
gunicorn (2 sync workers each), loaded by wrk from another process on
loopback, in alternating rounds; each figure is the median of the per-round
ratios of requests/second (above 1.0 Prefill is faster).

    .venv/bin/python bench/gunicorn_bench.py [--seconds 4] [--rounds 3] [--users 40000] [--pg URL]
    .venv/bin/python bench/gunicorn_bench.py --smoke    # a few seconds: proves it works, asserts no speed
    .venv/bin/python bench/gunicorn_bench.py --only subject,users --out /tmp/x.json   # some scenarios
    .venv/bin/python bench/gunicorn_bench.py --aa --only submit   # A/A: the hand-written app on both sides
    .venv/bin/python bench/gunicorn_bench.py --only submit --timed /tmp/t   # and each worker's own time

Scenarios (the hand-written side does the same work by hand):
- repeat: one verified user (trusted plan "enterprise") loads the HTML form
  again and again, vs the same page written by hand (``bench/baseline_support.html``);
- json: the same user loads the form's JSON (``/api/forms/support_ticket``) again
  and again, vs ``jsonify`` of the same document held in memory, no identity read
  (``bench/baseline_support.json``): a floor, not a rival;
- subject: a new ``?subject=`` on every request (the provider's output is new each time);
- users: a different verified user on every request (none seen twice);
- submit: a JSON submission with a new Idempotency-Key each, vs marshmallow + one insert
  (SQLite WAL; and PostgreSQL with ``--pg``);
- cond-render: one verified user loads the conditional support form
  (``bench/providers_conditional.py``: 12 fields shown by rules, 3 multi-selects)
  again and again, vs the same form in WTForms (``bench/baseline_conditional.py``);
- cond-submit: a valid bug report to it (six of the twelve shown) with a new
  Idempotency-Key each, vs the same checks written by hand + one insert (SQLite
  WAL; and PostgreSQL with ``--pg``).
After the submit rounds every acknowledged (201) submission is counted in the
database: ``lost`` must be 0. Writes ``bench/results/latest-gunicorn.json``.

``--aa`` serves the hand-written app on both sides (``bench/aa_wsgi.py``): the
ratios of two identical apps, far from 1.0 only by this machine's noise
(their slowest answers especially). It counts no losses and writes
``latest-gunicorn-aa.json``. ``--timed DIR`` wraps both apps in
``bench/timed_wsgi.py``: each worker's own wall and CPU time per request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.baseline_conditional import TABLE as COND_TABLE  # noqa: E402
from bench.baseline_support import bench_profile  # noqa: E402
from bench.load import rss_mib  # noqa: E402
from bench.providers_conditional import BUG_ANSWERS  # noqa: E402
from bench.wrk import LUA, SUBMIT_BODY, wrk  # noqa: E402
from store.db import make_engine, migrate  # noqa: E402
from store.tokens import hash_token  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest-gunicorn.json"
FORM = {"prefill": "/forms/support_ticket", "baseline": "/form"}
JSON_FORM = {"prefill": "/api/forms/support_ticket", "baseline": "/json-fixed"}
SUBMIT = {"prefill": "/api/forms/support_ticket/submissions", "baseline": "/submit"}
COND_FORM = {"prefill": "/forms/conditional_ticket", "baseline": "/cond-form"}
COND_SUBMIT = {"prefill": "/api/forms/conditional_ticket/submissions", "baseline": "/cond-submit"}
COND_BODY = json.dumps({"values": {**BUG_ANSWERS, "subject": "S{i}"}}, separators=(",", ":"))
# A scenario: what wrk does (bench/wrk.py), the two apps' paths, a submit's body and tables.
SUBMIT_TABLES = {"prefill": "submissions", "baseline": "bench_submissions"}
MODES: dict[str, tuple[str, dict[str, str], str, dict[str, str]]] = {
    "repeat": ("repeat", FORM, "", {}), "json": ("repeat", JSON_FORM, "", {}),
    "subject": ("subject", FORM, "", {}), "users": ("users", FORM, "", {}),
    "submit": ("submit", SUBMIT, SUBMIT_BODY, SUBMIT_TABLES),
    "cond-render": ("repeat", COND_FORM, "", {}),
    "cond-submit": ("submit", COND_SUBMIT, COND_BODY, {**SUBMIT_TABLES, "baseline": "bench_cond_submissions"}),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, users: int) -> list[str]:
    """Verified users on the enterprise plan (trusted; their profiles are
    :func:`bench.baseline_support.bench_profile`'s), each with a live session;
    returns their bearer tokens."""
    engine = make_engine(url)
    migrate(engine)
    now = int(time.time() * 1000)
    tokens = [secrets.token_urlsafe(32) for _ in range(users)]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE visitor_id LIKE 'v_bench_%'"))
        conn.execute(text("DELETE FROM users WHERE user_id LIKE 'bench-%'"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_submissions (id VARCHAR(40) PRIMARY KEY, "
                          "email TEXT, name TEXT, company TEXT, subject TEXT, priority TEXT, message TEXT)"))
        conn.execute(text(COND_TABLE))
        profile = [{"u": f"bench-{k}", "c": json.dumps(claimed), "t": json.dumps(trusted), "n": now}
                   for k, (claimed, trusted) in enumerate(map(bench_profile, range(users)))]
        conn.execute(text("INSERT INTO users (user_id, claimed, trusted, created_at, updated_at) "
                          "VALUES (:u, :c, :t, :n, :n)"), profile)
        rows = [{"h": hash_token(t), "v": f"v_bench_{k}", "u": f"bench-{k}", "n": now} for k, t in enumerate(tokens)]
        conn.execute(text("INSERT INTO sessions (token_hash, visitor_id, user_id, verified, claimed, session_metadata,"
                          " created_at, last_seen) VALUES (:h, :v, :u, TRUE, '{}', '{}', :n, :n)"), rows)
    engine.dispose()
    return tokens


def count(url: str, table: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(found)


def serve(side: str, url: str, port: int, workers: int, aa: bool = False, timed: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-gunicorn", "RATELIMIT_ENABLED": "0",
           "PREFILL_BUILTIN_FORMS": "1", "AUTO_MIGRATE": "0", "LOG_LEVEL": "WARNING",
           "PREFILL_PROVIDER_MODULES": "bench.providers_conditional"}
    target = "app:create_app()" if side == "prefill" else "bench.baseline_wsgi:create()"
    if aa and side == "prefill":
        target = "bench.aa_wsgi:create()"
    if timed:
        target = f"bench.timed_wsgi:create({side!r}, {str(Path(timed).resolve())!r})"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", target], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = "/healthz" if side == "prefill" else "/form"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", probe)
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{side} did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def page_bytes(port: int, path: str, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    return len(conn.getresponse().read())


def scenario(name: str, mode: str, url: str, ports: dict[str, int], args: Any, tokens_file: Path,
             script: Path) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {"prefill": [], "baseline": []}
    before: dict[str, int] = {}
    load, paths, body, table = MODES[mode]
    # A second of warm-up on each side first (its first requests load modules,
    # compile templates, open connections). The new-user scenario warms up on
    # the repeat view: its users are kept for the measured rounds.
    slices = args.rounds
    for side in runs:
        wrk(ports[side], "repeat" if load == "users" else load, paths[side], tokens_file, script, 1, args.rounds,
            slices, args.threads, args.connections, body)
    if args.aa:
        table = {}  # both sides write the hand-written app's table: no count per side
    if table:
        before = {side: count(url, table[side]) for side in runs}
    for rnd in range(args.rounds):
        order = ("prefill", "baseline") if rnd % 2 == 0 else ("baseline", "prefill")
        for side in order:
            runs[side].append(wrk(ports[side], load, paths[side], tokens_file, script, args.seconds, rnd,
                                  slices, args.threads, args.connections, body))
    ratios = [p["rps"] / b["rps"] for p, b in zip(runs["prefill"], runs["baseline"], strict=True)]
    result: dict[str, Any] = {
        "scenario": name, "ratio": round(statistics.median(ratios), 3), "ratios": [round(r, 3) for r in ratios],
        **{f"{side}_{key}": round(statistics.median(r[key] for r in rs), 2) for side, rs in runs.items()
           for key in ("rps", "p50_ms", "p99_ms")},
        **{f"{side}_max_ms": max(r["max_ms"] for r in rs) for side, rs in runs.items()},
        **{f"{side}_errors": sum(r["errors"] for r in rs) for side, rs in runs.items()},
    }
    if mode == "users":  # a thread that ran past its share of users met some a second time
        share = args.users // args.rounds
        result["users_seen_twice"] = any(r["rps"] * args.seconds > share for rs in runs.values() for r in rs)
    if table:
        for side in runs:
            acked = sum(r["acked"] for r in runs[side])
            stored = count(url, table[side]) - before[side]
            # wrk stops without reading the answers still in flight: stored may exceed acked, never the reverse.
            result[f"{side}_acked"], result[f"{side}_stored"] = acked, stored
            result[f"{side}_lost"] = max(0, acked - stored)
    return result


def run_backend(label: str, url: str, modes: list[tuple[str, str]], args: Any, work: Path) -> list[dict[str, Any]]:
    tokens = seed(url, args.users)
    tokens_file = work / f"tokens-{label}.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    script = work / "bench.lua"
    script.write_text(LUA)
    ports = {"prefill": free_port(), "baseline": free_port()}
    procs = {side: serve(side, url, port, args.workers, args.aa, args.timed) for side, port in ports.items()}
    results = []
    try:
        started = {side: rss_mib(proc.pid) for side, proc in procs.items()}
        for form, paths in (("form page", FORM), ("form JSON", JSON_FORM), ("conditional form page", COND_FORM)):
            sizes = {side: page_bytes(ports[side], paths[side], tokens[0]) for side in ports}
            results.append({"scenario": f"{form} bytes ({label})", **{f"{s}_bytes": v for s, v in sizes.items()}})
            print(f"  {form}: Prefill {sizes['prefill']} bytes, hand-written {sizes['baseline']} bytes")
        for name, mode in modes:
            row = scenario(f"{name} ({label})", mode, url, ports, args, tokens_file, script)
            results.append(row)
            print(f"  {row['scenario']:<46} {row['ratio']:>5.2f}x  p99 {row['prefill_p99_ms']:>6.1f} vs "
                  f"{row['baseline_p99_ms']:>6.1f} ms  max {row['prefill_max_ms']:>6.1f} vs "
                  f"{row['baseline_max_ms']:>6.1f} ms" + (f"  lost {row['prefill_lost']}/{row['baseline_lost']}"
                                                          if "prefill_lost" in row else ""), flush=True)
        rss = {side: rss_mib(proc.pid) for side, proc in procs.items()}
        results.append({"scenario": f"worker RSS MiB ({label})", **{f"{s}_rss_mib": v for s, v in rss.items()},
                        **{f"{s}_rss_mib_at_start": v for s, v in started.items()}})
        print(f"  worker RSS ({label}): Prefill {rss['prefill']} MiB, hand-written {rss['baseline']} MiB "
              f"(at start: {started['prefill']} and {started['baseline']} MiB)")
    finally:
        for proc in procs.values():
            stop(proc)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=40000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pg", help="also the submit scenario on this PostgreSQL URL (its tables are written)")
    parser.add_argument("--smoke", action="store_true", help="1 round of 1 s per scenario; asserts no speed")
    parser.add_argument("--only", help="comma-separated scenarios to run: " + ",".join(MODES))
    parser.add_argument("--aa", action="store_true", help="the hand-written app on both sides: the noise of a run")
    parser.add_argument("--timed", metavar="DIR", help="each worker's own time per request, into DIR "
                        "(bench/timed_wsgi.py DIR sums it up)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.timed and args.aa:
        parser.error("--timed times the two real apps: not with --aa")
    args.out = args.out or str(RESULTS.with_name("latest-gunicorn-aa.json") if args.aa else RESULTS)
    if args.smoke:
        args.seconds, args.rounds, args.users = 1, 1, 400
    if not shutil.which("wrk"):
        print("wrk is not installed (make bench installs it: apt-get install wrk)", file=sys.stderr)
        return 2
    chosen = [("HTML repeat view", "repeat"), ("JSON repeat view", "json"), ("HTML new ?subject= each", "subject"),
            ("HTML new user each", "users"), ("submit, new key each", "submit"),
            ("conditional render, repeat view", "cond-render"), ("conditional submit, new key each", "cond-submit")]
    only = set(args.only.split(",")) if args.only else set(MODES)
    if only - set(MODES):
        parser.error(f"unknown scenario {', '.join(sorted(only - set(MODES)))}; known: {', '.join(MODES)}")
    chosen = [(name, mode) for name, mode in chosen if mode in only]
    submits = [(name, mode) for name, mode in chosen if MODES[mode][3]]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"gunicorn -w {args.workers} (sync) each side; wrk -t{args.threads} -c{args.connections}, "
              f"{args.rounds} alternating rounds of {args.seconds:g} s; ratio = Prefill / hand-written req/s"
              + ("\nA/A: the hand-written app on both sides (\"Prefill\" is the same app again)" if args.aa else ""))
        results += run_backend("SQLite", f"sqlite:///{work / 'bench.sqlite3'}", chosen, args, work)
        if args.pg and submits:
            results += run_backend("PostgreSQL", args.pg, submits, args, work)
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": f"{os.cpu_count()} cores",
              "command": " ".join(sys.argv), "smoke": args.smoke, "aa": args.aa, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    lost = sum(r.get("prefill_lost", 0) + r.get("baseline_lost", 0) for r in results)
    print(f"wrote {args.out}; lost submissions: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
