"""Load: 16 concurrent clients mixing identify, render and submit against
gunicorn on loopback, then every acknowledged submission looked up.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 16] [--db URL] [--workers 2]

Each client keeps one HTTP/1.1 connection and loops: a new session, identify
(signed), view the HTML and the JSON form, submit twice with one
Idempotency-Key (the second must replay the first). Prints requests, errors,
lost submissions, p50/p99/max latency and the workers' RSS; writes
``bench/results/latest-load.json``. Rate limits are off: one address sends it all.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from web.identity.verify import sign_identity_token  # noqa: E402

SECRET = "load-identity-secret-0123456789abcdef0123"
TICKET = {"email": "load@example.com", "subject": "Load", "priority": "normal", "message": "Under load"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db_url: str, port: int, workers: int = 2, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """gunicorn (``workers`` workers of 4 threads) serving Prefill on ``port``, once ``/readyz`` answers 200."""
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "load-test", "IDENTITY_SECRET": SECRET,
           "RATELIMIT_ENABLED": "0", "PREFILL_BUILTIN_FORMS": "1", **(extra_env or {})}
    env.pop("PREFILL_PROVIDER_MODULES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


def rss_mib(master: int) -> list[float]:
    out = []
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out.append(round(int(line.split()[1]) / 1024, 1))
    return out


class Client(threading.Thread):
    def __init__(self, port: int, until: float, n: int) -> None:
        super().__init__(daemon=True)
        self.port, self.until, self.n = port, until, n
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.acked: list[str] = []

    def call(self, conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None,
             headers: dict | None = None, ok: tuple[int, ...] = (200,)) -> dict | None:
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
        start = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=h)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            conn.close()
            return None
        self.latencies.append(time.perf_counter() - start)
        if response.status not in ok:
            self.errors.append(f"{method} {path}: HTTP {response.status} {payload[:120]!r}")
            return None
        return json.loads(payload) if response.headers.get("Content-Type", "").startswith("application/json") else {}

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i = 0
        while time.time() < self.until:
            i += 1
            user = f"load-{self.n}-{i}"
            session = self.call(conn, "POST", "/api/session", {}, ok=(201,))
            if session is None:
                continue
            auth = {"Authorization": f"Bearer {session['sessionToken']}"}
            token = sign_identity_token(SECRET, user, {"plan": "enterprise" if i % 3 == 0 else "pro"})
            self.call(conn, "POST", "/api/identify", {"userId": user, "email": f"{user}@example.com",
                                                       "identityToken": token}, auth)
            self.call(conn, "GET", "/forms/support_ticket", headers=auth)
            self.call(conn, "GET", "/api/forms/support_ticket", headers=auth)
            key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
            first = self.call(conn, "POST", "/api/forms/support_ticket/submissions", {"values": TICKET}, key,
                              ok=(201,))
            again = self.call(conn, "POST", "/api/forms/support_ticket/submissions", {"values": TICKET}, key,
                              ok=(201,))
            if first:
                self.acked.append(first["id"])
                if again and again["id"] != first["id"]:
                    self.errors.append(f"replay gave {again['id']} for {first['id']}")
        conn.close()


def run_load(seconds: float, clients: int, db_url: str, workers: int = 2) -> dict:
    port = free_port()
    server = start(db_url, port, workers)
    try:
        until = time.time() + seconds
        threads = [Client(port, until, n) for n in range(clients)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
        elapsed = time.time() - started
        memory = rss_mib(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    latencies = sorted(x for t in threads for x in t.latencies)
    acked = [i for t in threads for i in t.acked]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        present = {r[0] for r in conn.execute(text("SELECT id FROM submissions"))}
    engine.dispose()
    lost = [i for i in acked if i not in present]
    errors = [e for t in threads for e in t.errors]

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else 0.0

    return {
        "seconds": round(elapsed, 1), "clients": clients, "workers": workers,
        "database": db_url.split("://")[0], "requests": len(latencies) + len(errors),
        "rps": round(len(latencies) / elapsed, 1), "errors": len(errors), "error_samples": errors[:5],
        "acknowledged": len(acked), "lost": len(lost), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
        "worker_rss_mib": memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    db = args.db or f"sqlite:///{tempfile.mkdtemp()}/load.sqlite3"
    if not args.db:
        from store.db import make_engine, migrate
        engine = make_engine(db)
        migrate(engine)
        engine.dispose()
    result = run_load(args.seconds, args.clients, db, args.workers)
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / "latest-load.json"
    out.write_text(json.dumps({**result, "command": " ".join(sys.argv)}, indent=2) + "\n")
    sys.exit(1 if result["errors"] or result["lost"] else 0)


if __name__ == "__main__":
    main()
