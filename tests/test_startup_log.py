"""What Prefill says while it starts reaches its log (hardening round 3, defect 12).

The app is started as ``make run`` starts it, and its stderr is read: pytest's log
capture would see a line that a real process drops.
"""

from __future__ import annotations

import json

import pytest

from .app_process import make_run

REPLACES = "form 'support_ticket': tests.providers_dup.my_support_ticket replaces the built-in demo form"


def test_an_authors_form_replacing_a_demo_form_is_reported_under_make_run(tmp_path):
    with make_run(tmp_path, PREFILL_PROVIDER_MODULES="tests.providers_dup") as app:
        log = app.log
    assert REPLACES in log, log[-2000:]
    assert log.index(REPLACES) < log.index("Prefill on http://")  # said at start, before serving
    # The first start migrates a fresh database, and says so, without Alembic's chatter.
    assert "Running upgrade  -> 0001" in log and "setup plugin" not in log


@pytest.mark.parametrize("level,shown", [("WARNING", False), ("INFO", True)])
def test_start_up_lines_follow_log_format_and_level(tmp_path, level, shown):
    with make_run(tmp_path, PREFILL_PROVIDER_MODULES="tests.providers_dup", LOG_FORMAT="json", LOG_LEVEL=level) as app:
        log = app.log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    found = [line for line in lines if line["message"] == REPLACES]
    assert bool(found) is shown, log[-2000:]
    if shown:
        assert found[0]["level"] == "INFO" and found[0]["logger"] == "prefill.providers"
