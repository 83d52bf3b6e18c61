"""Forms with file fields for the upload tests (tests/test_uploads*.py)."""

from __future__ import annotations

from typing import Any

from schema_providers import provider


@provider("bug_report", title="Report a bug")
def bug_report(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [
        {"name": "subject", "type": "text", "required": True},
        {"name": "kind", "type": "select", "options": [{"label": "Crash", "value": "crash"},
                                                       {"label": "Other", "value": "other"}]},
        {"name": "screenshot", "type": "file", "accept": ["image/png", "image/jpeg"], "maxSize": 100_000},
        {"name": "logs", "type": "file", "accept": ".log, text/plain", "maxFiles": 3, "maxSize": 50_000},
        # Only for a crash (a hidden file field's uploads are not claimed).
        {"name": "dump", "type": "file", "visibleIf": {"==": [{"var": "kind"}, "crash"]}, "required": True},
        {"name": "anything", "type": "file", "maxFiles": 2},
    ]}
