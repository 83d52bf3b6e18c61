"""Worker memory under traffic that used to grow it without limit.

    .venv/bin/python bench/memory.py [--anonymous 30000] [--users 3000] [--cache-mb 32]

One gunicorn worker (SQLite). Phase 1: anonymous visitors, each a new session,
load the support form. Phase 2: distinct signed-in users load a 500-field form.
The worker's RSS is printed at checkpoints: with the caches bounded in bytes
(``ENGINE_CACHE_MB``) and the CSRF token out of cached pages, it levels off.
Writes ``bench/results/latest-memory.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import free_port, rss_mib  # noqa: E402
from store.db import make_engine, migrate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--anonymous", type=int, default=30000)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--cache-mb", type=float, default=32)
    args = parser.parse_args()
    db = f"sqlite:///{tempfile.mkdtemp()}/memory.sqlite3"
    engine = make_engine(db)
    migrate(engine)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db, "SECRET_KEY": "memory", "RATELIMIT_ENABLED": "0",
           "ENGINE_CACHE_MB": str(args.cache_mb), "PREFILL_PROVIDER_MODULES": "bench.providers_big",
           "PREFILL_BUILTIN_FORMS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = None
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/readyz")
            if conn.getresponse().read() is not None:
                break
        except OSError:
            time.sleep(0.2)
    checkpoints: list[dict] = []
    try:
        def get(path: str, headers: dict | None = None) -> int:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            response.read()
            return response.status

        def post(path: str, body: dict, headers: dict | None = None) -> dict:
            conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                                       **(headers or {})})
            return json.loads(conn.getresponse().read())

        checkpoints.append({"phase": "start", "n": 0, "rss_mib": rss_mib(server.pid)[0]})
        marks = {1000, args.anonymous // 3, 2 * args.anonymous // 3, args.anonymous}
        for i in range(1, args.anonymous + 1):
            assert get("/forms/support_ticket") == 200  # no cookie: a new anonymous visitor each time
            if i in marks:
                checkpoints.append({"phase": "anonymous", "n": i, "rss_mib": rss_mib(server.pid)[0]})
        marks = {100, args.users // 3, 2 * args.users // 3, args.users}
        for i in range(1, args.users + 1):
            token = post("/api/session", {})["sessionToken"]
            auth = {"Authorization": f"Bearer {token}"}
            post("/api/identify", {"userId": f"user-{i}", "email": f"user{i}@example.com"}, auth)
            assert get("/forms/big_form", auth) == 200
            if i in marks:
                checkpoints.append({"phase": "500-field form, new user", "n": i, "rss_mib": rss_mib(server.pid)[0]})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    for c in checkpoints:
        print(f"{c['phase']:>26} {c['n']:>6}: {c['rss_mib']} MiB")
    out = {"cache_mb": args.cache_mb, "checkpoints": checkpoints, "command": " ".join(sys.argv)}
    (ROOT / "bench" / "results" / "latest-memory.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
