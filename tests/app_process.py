"""Prefill as ``make run`` starts it: ``python app.py`` in its own process, with
the demo's settings, on a free port. What it logs goes to a file the test reads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .test_crash import ROOT, free_port

# ``make run``'s environment (the Makefile's run target), less the webhook worker.
MAKE_RUN_ENV = {"PREFILL_DEMO": "1", "PREFILL_DEV": "1",
                "IDENTITY_SECRET": "demo-identity-secret-change-me-0123456789"}


@dataclass
class RunningApp:
    base: str
    log_file: Path
    proc: subprocess.Popen

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


@contextmanager
def make_run(tmp: Path, **env: str) -> Iterator[RunningApp]:
    """``python app.py`` with ``make run``'s environment plus ``env``; stopped after."""
    port = free_port()
    full = {**os.environ, **MAKE_RUN_ENV, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp / 'run.sqlite3'}", **env}
    for name in ("PREFILL_PROVIDER_MODULES", "WEBHOOK_URL", "LOG_FORMAT", "LOG_LEVEL"):
        if name not in env:
            full.pop(name, None)
    log_file = tmp / "stderr.log"
    with open(log_file, "wb") as err:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=err)
    app = RunningApp(f"http://127.0.0.1:{port}", log_file, proc)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{app.base}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"app.py did not start:\n{app.log[-3000:]}") from None
                time.sleep(0.1)
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
