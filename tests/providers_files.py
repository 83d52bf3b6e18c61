"""Forms with file fields, for the tests of file fields on the page and in the widget."""

from __future__ import annotations

from typing import Any

from schema_providers import provider


@provider("attach", title="Report a problem")
def attach(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [
        {"name": "subject", "type": "text", "required": True},
        {"name": "details", "type": "textarea"},
        {"name": "shot", "type": "file", "label": "Screenshot", "accept": ["image/png", "image/jpeg"],
         "maxSize": 200 * 1024, "help": "What you saw on the screen."},
        {"name": "logs", "type": "file", "label": "Log files", "accept": ".log,text/plain", "maxFiles": 3,
         "maxSize": 1 << 20},
    ]}


@provider("one_file", title="Send a file")
def one_file(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [{"name": "shot", "type": "file", "label": "Screenshot", "accept": "image/*",
                        "required": True, "maxSize": 5 << 20}]}


@provider("screenshot_ticket", title="Contact support")
def screenshot_ticket(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [
        {"name": "subject", "type": "text", "required": True},
        {"name": "message", "type": "textarea", "required": True},
        {"name": "shot", "type": "file", "label": "Screenshot", "accept": ["image/png", "image/jpeg"],
         "maxSize": 5 << 20},
    ]}
