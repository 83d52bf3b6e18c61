"""Memory with uploads in flight: 10 concurrent 20 MB uploads against one
gunicorn worker (bench/uploads.py). The goal is under 25 MiB above idle; the
assertion is generous, for a loaded machine."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.uploads import fresh_db, memory


def test_ten_concurrent_20_mb_uploads_stay_within_bounded_memory():
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        got = memory(fresh_db(work, None), work, 20_000_000, 10)
    print(f"\nworker RSS: idle {got['idle_mib']} MiB, growth {got['growth_mib']} MiB with 10 uploads of 20 MB")
    assert got["growth_mib"] < 60  # a 200 MB total held in memory would be far past this
