"""Starting many workers at once on a fresh database (hardening defect 2).

Each gunicorn worker builds the app, and the app migrates: without a lock the
workers raced to create the tables and gunicorn halted on the loser.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import _instance_secret
from store.db import schema_is_current

from .conftest import PG_URL
from .test_crash import ROOT, free_port

WORKERS = 4
STARTS = 4


def _fresh_postgres() -> str:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS prefill_startup WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE prefill_startup"))
    admin.dispose()
    return make_url(PG_URL).set(database="prefill_startup").render_as_string(hide_password=False)


def start_workers(db_url: str) -> tuple[int, str]:
    """Start gunicorn with WORKERS workers; (workers that built the app, stderr)."""
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "startup-test"}
    env.pop("PREFILL_PROVIDER_MODULES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{free_port()}",
         "-c", str(ROOT / "tests" / "gunicorn_ready.py"), "--log-level", "warning", "app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ready: set[str] = set()
    output = b""
    fd = proc.stderr.fileno()
    deadline = time.time() + 60
    try:
        while len(ready) < WORKERS and time.time() < deadline:
            # Raw reads after select: the wait is bounded even when nothing more is printed.
            if not select.select([fd], [], [], max(0.0, deadline - time.time()))[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:  # the master exited: a worker failed to boot
                break
            output += chunk
            ready = set(re.findall(rb"READY (\d+)", output))
    finally:
        proc.terminate()
        try:
            rest = proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = proc.communicate()[1]
    return len(ready), (output + (rest or b"")).decode(errors="replace")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_many_workers_start_on_a_fresh_database(backend, tmp_path, postgres_url):
    for attempt in range(STARTS):
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'fresh{attempt}.sqlite3'}"
        else:
            url = _fresh_postgres()
        booted, log = start_workers(url)
        assert booted == WORKERS, f"start {attempt + 1}: {booted}/{WORKERS} workers booted\n{log[-3000:]}"
        assert "Traceback" not in log and "already exists" not in log, log[-3000:]
        engine = create_engine(url)
        assert schema_is_current(engine)
        assert {"sessions", "submissions", "users"} <= set(inspect(engine).get_table_names())
        engine.dispose()


def _read_secret(path: str) -> str:
    return _instance_secret(Path(path))


def test_workers_starting_together_agree_on_the_instance_secret(tmp_path):
    for attempt in range(5):
        key_file = tmp_path / f"secret_key{attempt}"
        with multiprocessing.get_context("fork").Pool(8) as pool:
            keys = pool.map(_read_secret, [str(key_file)] * 16)
        assert len(set(keys)) == 1 and len(keys[0]) == 64
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")] == []
