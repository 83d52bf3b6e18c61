"""The 10-second form of ``bench/load.py``: 16 clients mixing identify, render
and submit against gunicorn; no errors, no acknowledged submission lost."""

from __future__ import annotations

import pytest

from bench.load import run_load

from .conftest import wipe


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_sixteen_clients_for_ten_seconds(db_url):
    wipe(db_url)
    result = run_load(10, 16, db_url)
    print(result)
    assert result["errors"] == 0, result["error_samples"]
    assert result["lost"] == 0 and result["acknowledged"] > 50
    assert result["p99_ms"] > 0
