"""Prefill vs hand-written Flask/WTForms, in one process, as ratios.

    make bench            # or: .venv/bin/python bench/run.py [--requests N] [--rounds R] [--db URL] [--only WORD]

Both apps are driven through Flask's test client (same WSGI overhead), in
alternating rounds so machine noise hits both alike; each figure is the median
of the per-round ratios of requests/second. Above 1.0 Prefill is faster.

Scenarios:
- repeat view: one signed-in user loads the form again and again;
- first view: every request is a different user (nothing memoised for them yet);
- no memo: the engine's caches switched off (every request validates the
  provider's schema, resolves and renders anew): the worst case;
- conditional render: one signed-in user loads the conditional support form
  (``bench/providers_conditional.py``: 12 fields shown by rules, 3
  multi-selects) again and again, vs the same form in WTForms
  (``bench/baseline_conditional.py``);
- conditional submit: a valid bug report to it (six of the twelve shown), a
  new Idempotency-Key each, vs the same checks written by hand, a read of the
  user (the locked email) and one insert.
The users are verified users on the enterprise plan, as in the gunicorn bench
(``bench.baseline_support.bench_profile``). The hand-written side
(``bench/baseline.py``) serves the same page as Prefill's support form, and on
``/json`` the same document as its JSON, built per request from the user's data.
Baselines: "static" takes user 0's data from an in-memory dict (no identity
read at all); "+ DB read" also reads the user's row per request.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from app import create_app
from bench.baseline import create_baseline
from bench.baseline_conditional import TABLE as COND_TABLE
from bench.baseline_support import bench_profile
from bench.providers_conditional import BUG_ANSWERS
from store.db import make_engine
from store.sessions import hash_token

USERS = 3000  # > requests per round, so a round never meets a user twice


def seed_users(sessions, count: int) -> list[str]:
    """Verified enterprise users with a stored profile, as after identify (user
    ``i`` has ``bench_profile(i)``); returns their session tokens."""
    tokens = []
    for i in range(count):
        token, row = sessions.create()
        with sessions.change(row) as tx:
            tx.identify(f"user-{i}", *bench_profile(i), True)
        tokens.append(token)
    return tokens


def rate(client, path: str, cookies, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        r = client.get(path, headers={"Cookie": next(cookies)})
        if r.status_code != 200 or "Set-Cookie" in r.headers:
            raise SystemExit(f"{path}: {r.status_code} {r.get_data(as_text=True)[:300]}")
    return n / (time.perf_counter() - start)


def post_rate(client, path: str, headers, body: dict, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        r = client.post(path, json=body, headers=next(headers))
        if r.status_code != 201:
            raise SystemExit(f"{path}: {r.status_code} {r.get_data(as_text=True)[:300]}")
    return n / (time.perf_counter() - start)


def compare(name: str, a, b, rounds: int) -> dict:
    a(), b()  # warm up both
    ratios, ra, rb = [], [], []
    for _ in range(rounds):
        x, y = a(), b()
        ra.append(x)
        rb.append(y)
        ratios.append(x / y)
    out = {"scenario": name, "prefill_rps": round(statistics.median(ra)),
           "baseline_rps": round(statistics.median(rb)), "ratio": round(statistics.median(ratios), 2)}
    print(f"{name:<58} prefill {out['prefill_rps']:>6}/s  baseline {out['baseline_rps']:>6}/s"
          f"  ratio {out['ratio']:.2f}x", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a temp SQLite file)")
    parser.add_argument("--only", help="run only the scenarios whose name holds one of these comma-separated words")
    parser.add_argument("--out", help="where to write the results (default: bench/results/latest-<database>.json)")
    opts = parser.parse_args()
    url = opts.db or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    n, rounds = opts.requests, opts.rounds

    warm = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                       "PREFILL_BUILTIN_FORMS": True, "PREFILL_PROVIDER_MODULES": ["bench.providers_conditional"]})
    cold = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "ENGINE_CACHE_SIZE": 0, "RATELIMIT_ENABLED": False,
                       "PREFILL_BUILTIN_FORMS": True})
    sessions, db = warm.extensions["prefill"].sessions, warm.extensions["prefill"].db
    tokens = seed_users(sessions, USERS)
    with db.begin() as conn:
        conn.execute(text(COND_TABLE))

    one_prefill = itertools.repeat(f"prefill_session={tokens[0]}")
    one_base = itertools.repeat(f"bench={hash_token(tokens[0])}")
    many_prefill = itertools.cycle([f"prefill_session={t}" for t in tokens])
    many_base = itertools.cycle([f"bench={hash_token(t)}" for t in tokens])
    static_base = itertools.repeat("")
    base_static = create_baseline().test_client(use_cookies=False)
    from sqlalchemy import create_engine

    # the hand-written app's own engine, with SQLAlchemy's defaults
    base_db = create_baseline(create_engine(url)).test_client(use_cookies=False)
    # The conditional form's side writes: it gets Prefill's SQLite settings (WAL,
    # synchronous=NORMAL), as in the gunicorn bench, or each commit would fsync.
    base_cond = create_baseline(make_engine(url)).test_client(use_cookies=False)
    pc, cc = warm.test_client(use_cookies=False), cold.test_client(use_cookies=False)
    html, js = "/forms/support_ticket?subject=Hi", "/api/forms/support_ticket?subject=Hi"
    bhtml, bjs = "/form?subject=Hi", "/json?subject=Hi"
    k = max(1, n // 4)
    st = warm.extensions["prefill"]

    def prefill_side(client, path: str, cookies, count: int, fresh_users: bool):
        def go() -> float:
            if fresh_users:  # users seen in earlier rounds count as new again
                st.engine.forget_identities()
                st.sessions.identities.clear()
            return rate(client, path, cookies, count)
        return go

    pages = {"HTML": (html, bhtml, "WTForms"), "JSON": (js, bjs, "jsonify")}
    # (kind, scenario, Prefill client, its cookies, forget users each round, baseline client, its cookies, requests)
    table = [
        ("HTML", "repeat view", pc, one_prefill, False, base_static, static_base, n),
        ("HTML", "repeat view", pc, one_prefill, False, base_db, one_base, n),
        ("HTML", "first view per user", pc, many_prefill, True, base_db, many_base, n),
        ("JSON", "repeat view", pc, one_prefill, False, base_static, static_base, n),
        ("JSON", "repeat view", pc, one_prefill, False, base_db, one_base, n),
        ("JSON", "first view per user", pc, many_prefill, True, base_db, many_base, n),
        ("HTML", "no memo (worst case)", cc, one_prefill, False, base_db, one_base, k),
        ("JSON", "no memo (worst case)", cc, one_prefill, False, base_db, one_base, k),
    ]
    prefill_keys = ({"Authorization": f"Bearer {tokens[0]}", "Idempotency-Key": f"run-{i}"} for i in itertools.count())
    base_headers = itertools.repeat({"Cookie": f"bench={hash_token(tokens[0])}"})
    body = {"values": BUG_ANSWERS}
    conditional = [  # (name, Prefill's side, the hand-written side)
        ("HTML conditional render, repeat view vs WTForms + DB read",
         lambda: rate(pc, "/forms/conditional_ticket", one_prefill, n),
         lambda: rate(base_cond, "/cond-form", one_base, n)),
        ("conditional submit, new key vs WTForms + own checks + insert",
         lambda: post_rate(pc, "/api/forms/conditional_ticket/submissions", prefill_keys, body, n),
         lambda: post_rate(base_cond, "/cond-submit", base_headers, body, n)),
    ]
    words = opts.only.split(",") if opts.only else None
    results = []
    for kind, scenario, client, cookies, fresh, base, base_cookies, count in table:
        path, base_path, baseline = pages[kind]
        against = f"{baseline} (static)" if base is base_static else f"{baseline} + DB read"
        name = f"{kind} {scenario} vs {against}"
        if words is None or any(w in name for w in words):
            results.append(compare(name, prefill_side(client, path, cookies, count, fresh),
                                   lambda b=base, bp=base_path, bc=base_cookies, c=count: rate(b, bp, bc, c), rounds))
    for name, ours, theirs in conditional:
        if words is None or any(w in name for w in words):
            results.append(compare(name, ours, theirs, rounds))
    database = url.split(":")[0].split("+")[0]
    out = Path(opts.out or Path(__file__).resolve().parent / "results" / f"latest-{database}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"database": url.split("://")[0], "requests": n, "rounds": rounds,
                               "users": USERS, "results": results}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
