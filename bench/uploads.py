"""Uploads under gunicorn: memory with 10 concurrent 20 MB uploads against one
worker, and throughput against a hand-written Flask view.

    .venv/bin/python bench/uploads.py [--size-mb 20] [--concurrency 10] [--rounds 7] [--db URL]

Both run with deploy/gunicorn.conf.py (two malloc arenas per worker).
memory: one worker with as many threads as uploads; its RSS is read every few
milliseconds while the uploads run (and its kernel peak, VmHWM, reset after the
warm-up): the growth above idle is what 10 uploads in flight cost.
throughput: one worker, one thread, each side; 20 MB posted in alternating
rounds to Prefill's POST /api/uploads (multipart, typed, hashed, fsync'ed to
the file storage, rows in the database) and to ``bench/upload_baseline.py``
(request.stream written to a file); the ratio of their MB/s, median of rounds.
Writes ``bench/results/latest-uploads.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import free_port  # noqa: E402
from store.db import make_engine, migrate  # noqa: E402
from tests.uploads_helpers import multipart  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest-uploads.json"


def serve(app: str, port: int, threads: int, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-w", "1", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("no worker")


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def prefill_env(db: str, files: Path, size: int) -> dict[str, str]:
    return {"DATABASE_URL": db, "SECRET_KEY": "bench-uploads", "RATELIMIT_ENABLED": "0", "AUTO_MIGRATE": "1",
            "PREFILL_PROVIDER_MODULES": "tests.providers_uploads", "UPLOAD_STORAGE_URL": files.as_uri(),
            "UPLOAD_MAX_BYTES": str(size + (1 << 20)), "UPLOAD_SESSION_BYTES_PER_HOUR": str(1 << 40),
            "GC_FREEZE_EVERY": "0"}


def session(port: int) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/session", b"", {})
    return {"Authorization": "Bearer " + json.loads(conn.getresponse().read())["sessionToken"]}


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    conn.request("POST", path, body, headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status, time.perf_counter() - start


def memory(db: str, work: Path, size: int, concurrency: int) -> dict[str, float]:
    port = free_port()
    server = serve("app:create_app()", port, concurrency, prefill_env(db, work / "mem-files", size))
    try:
        pid = worker_pid(server.pid)
        body, ctype = multipart([("form", "bug_report"), ("field", "anything"),
                                 ("file", (os.urandom(size), "blob.bin", "application/octet-stream"))])
        small, _ = multipart([("form", "bug_report"), ("field", "anything"),
                              ("file", (os.urandom(200_000), "blob.bin", "application/octet-stream"))])
        heads = [{**session(port), "Content-Type": ctype} for _ in range(concurrency)]
        # Warm up as many at once: the worker's threads, pooled connections, libmagic's database.
        warm = [threading.Thread(target=post, args=(port, "/api/uploads", small, h)) for h in heads]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        time.sleep(0.5)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        idle = status_kib(pid, "VmRSS")
        peak = idle
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, status_kib(pid, "VmRSS"))
                time.sleep(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        results: list[int] = []
        clients = [threading.Thread(target=lambda h=h: results.append(post(port, "/api/uploads", body, h)[0]))
                   for h in heads]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        done.set()
        watcher.join()
        hwm = status_kib(pid, "VmHWM")
        assert results == [201] * concurrency, results
        return {"idle_mib": round(idle / 1024, 1), "peak_polled_mib": round(peak / 1024, 1),
                "peak_hwm_mib": round(hwm / 1024, 1), "growth_mib": round((max(peak, hwm) - idle) / 1024, 1),
                "uploads": concurrency, "size_mb": size / 1e6}
    finally:
        stop(server)


def throughput(db: str, work: Path, size: int, rounds: int) -> dict[str, float]:
    ports = {"prefill": free_port(), "baseline": free_port()}
    prefill = serve("app:create_app()", ports["prefill"], 1, prefill_env(db, work / "tp-files", size))
    baseline = serve("bench.upload_baseline:app", ports["baseline"], 1, {"UPLOAD_DIR": str(work / "baseline")})
    try:
        body, ctype = multipart([("form", "bug_report"), ("field", "anything"),
                                 ("file", (os.urandom(size), "blob.bin", "application/octet-stream"))])
        head = {**session(ports["prefill"]), "Content-Type": ctype}
        rates: dict[str, list[float]] = {"prefill": [], "baseline": []}
        ratios = []
        for r in range(rounds + 1):  # the first round warms both up
            status, a = post(ports["prefill"], "/api/uploads", body, head)
            assert status == 201
            status, b = post(ports["baseline"], "/upload", body, {"Content-Type": ctype})
            assert status == 201
            if r:
                rates["prefill"].append(len(body) / a / 1e6)
                rates["baseline"].append(len(body) / b / 1e6)
                ratios.append(b / a)
        return {"prefill_mb_s": round(statistics.median(rates["prefill"]), 1),
                "baseline_mb_s": round(statistics.median(rates["baseline"]), 1),
                "ratio": round(statistics.median(ratios), 2), "rounds": rounds, "size_mb": size / 1e6}
    finally:
        stop(prefill)
        stop(baseline)


def fresh_db(work: Path, url: str | None) -> str:
    db = url or f"sqlite:///{work / 'uploads.sqlite3'}"
    engine = make_engine(db)
    migrate(engine)
    engine.dispose()
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--only", choices=["memory", "throughput"])
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    size = int(args.size_mb * 1e6)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = fresh_db(work, args.db)
        if args.only in (None, "memory"):
            out["memory"] = memory(db, work, size, args.concurrency)
            m = out["memory"]
            print(f"memory: {args.concurrency} concurrent {args.size_mb:g} MB uploads, one worker: idle "
                  f"{m['idle_mib']} MiB, peak {max(m['peak_polled_mib'], m['peak_hwm_mib'])} MiB, "
                  f"growth {m['growth_mib']} MiB (goal < 25)", flush=True)
        if args.only in (None, "throughput"):
            out["throughput"] = throughput(db, work, size, args.rounds)
            t = out["throughput"]
            print(f"throughput: {args.size_mb:g} MB upload, Prefill {t['prefill_mb_s']} MB/s, hand-written "
                  f"{t['baseline_mb_s']} MB/s, ratio {t['ratio']} (goal >= 0.8)", flush=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
