"""No acknowledged submission is lost: SIGKILL the server mid-load, restart, count.

A real gunicorn server in a subprocess, real HTTP clients, SQLite (WAL) and
PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.load import start

ROOT = Path(__file__).resolve().parent.parent
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """gunicorn, 2 workers of 4 threads; rate limits off: hundreds of requests come
    from one address (durability, not limits, is tested here)."""
    return start(db_url, port, 2, {"SECRET_KEY": "crash-test", "ADMIN_API_KEY": "admin-key", **(extra_env or {})})


def test_acknowledged_submissions_survive_sigkill(db_url):
    port = free_port()
    server = start_server(db_url, port)
    acked: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                body = json.dumps({"values": {**TICKET, "subject": f"t{n}-{i}"}})
                conn.request("POST", "/api/forms/support_ticket/submissions", body,
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 201:
                    with lock:
                        acked.append(json.loads(data)["id"])
            except (OSError, http.client.HTTPException, ValueError):
                if stop.is_set():
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while len(acked) < 150 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)  # mid-load, no chance to flush anything
    server.wait()
    stop.set()
    for t in threads:
        t.join()
    with lock:
        acknowledged = set(acked)
    assert len(acknowledged) >= 100, "the load did not get going"

    restarted = start_server(db_url, port)
    try:
        engine = create_engine(db_url)
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT id FROM submissions"))}
        engine.dispose()
        missing = acknowledged - stored
        print(f"\n{db_url.split(':')[0]}: {len(acknowledged)} acknowledged before SIGKILL, "
              f"{len(acknowledged & stored)} present after restart")
        assert not missing, f"{len(missing)} acknowledged submissions lost"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/admin/submissions?limit=1", headers={"Authorization": "Bearer admin-key"})
        assert conn.getresponse().status == 200
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=10)


def test_acknowledged_files_survive_sigkill(db_url, tmp_path):
    """Uploads and submissions with files under load, SIGKILL, restart: every
    acknowledged upload's file is whole in the storage, and every acknowledged
    submission is stored with its files claimed (local storage: fsync, then rename)."""
    import hashlib
    import uuid

    from tests.uploads_helpers import multipart, png

    port = free_port()
    files = tmp_path / "files"
    env = {"UPLOAD_STORAGE_URL": files.as_uri(), "UPLOAD_SESSION_BYTES_PER_HOUR": str(1 << 30)}
    server = start_server(db_url, port, env)
    uploads: dict[str, str] = {}  # acknowledged upload id -> sha256 of what was sent
    submitted: dict[str, str] = {}  # acknowledged submission id -> its upload id
    stop = threading.Event()
    lock = threading.Lock()

    def call(conn, method, path, body, headers):
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def load(n: int) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            status, data = call(conn, "POST", "/api/session", b"", {})
            bearer = {"Authorization": "Bearer " + json.loads(data)["sessionToken"]}
        except (OSError, http.client.HTTPException, ValueError):
            return
        i = 0
        while not stop.is_set():
            i += 1
            try:
                shot = png(2000 + i) + uuid.uuid4().bytes  # trailing bytes: still a PNG, each one different
                body, ctype = multipart([("form", "support_ticket"), ("field", "screenshot"),
                                         ("file", (shot, f"s{n}-{i}.png", "image/png"))])
                status, data = call(conn, "POST", "/api/uploads", body, {**bearer, "Content-Type": ctype})
                if status != 201:
                    continue
                up = json.loads(data)["id"]
                with lock:
                    uploads[up] = hashlib.sha256(shot).hexdigest()
                values = {**TICKET, "subject": f"f{n}-{i}", "screenshot": up}
                status, data = call(conn, "POST", "/api/forms/support_ticket/submissions",
                                    json.dumps({"values": values}), {**bearer, "Content-Type": "application/json"})
                if status == 201:
                    with lock:
                        submitted[json.loads(data)["id"]] = up
            except (OSError, http.client.HTTPException, ValueError):
                if stop.is_set():
                    return
                time.sleep(0.01)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while len(submitted) < 80 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(submitted) >= 40, "the load did not get going"

    restarted = start_server(db_url, port, env)
    try:
        engine = create_engine(db_url)
        with engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(text("SELECT id, storage_key, submission_id, status "
                                                       "FROM attachments"))}
            stored = {r[0] for r in conn.execute(text("SELECT id FROM submissions"))}
        engine.dispose()
        lost_subs = set(submitted) - stored
        assert not lost_subs, f"{len(lost_subs)} acknowledged submissions lost"
        for sid, up in submitted.items():
            assert rows[up].submission_id == sid
        for up, sha in uploads.items():
            row = rows[up]
            assert row.status == "stored"
            assert hashlib.sha256((files / row.storage_key).read_bytes()).hexdigest() == sha, up
        print(f"\n{db_url.split(':')[0]}: {len(uploads)} uploads and {len(submitted)} submissions with files "
              f"acknowledged before SIGKILL; all present and whole after restart")
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=10)
