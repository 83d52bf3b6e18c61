"""The conditional support form of the benchmarks (issue 16's "Speed").

Twelve fields shown by rules on the category and other answers, three
multi-selects (``products``, ``platforms``, ``changes``; the last two among
the twelve), and the usual email (locked), subject and message. The
hand-written baseline of the same form is ``bench/baseline_conditional.py``.
A ``bug`` with the web and API products shows six of the twelve
(:data:`BUG_ANSWERS`, what the submit scenarios post).
"""

from __future__ import annotations

from typing import Any

from schema_providers import provider


def _options(*pairs: str) -> list[dict[str, Any]]:
    return [{"label": label, "value": value} for value, label in zip(pairs[::2], pairs[1::2], strict=True)]


def _is(name: str, value: str) -> dict[str, Any]:
    return {"==": [{"var": name}, value]}


def _has(name: str, value: str) -> dict[str, Any]:
    return {"in": [value, {"var": name}]}


BUG = _is("category", "bug")
SEVERITIES = _options("low", "Low", "normal", "Normal", "high", "High", "critical", "Critical")
SEVERITIES[3]["visibleIf"] = _has("products", "api")  # an outage is for the API only

# The answers of a valid bug report: the category shows six of the twelve
# conditional fields (severity, platforms, steps, browser, api_version,
# error_code); the email is locked (the server's own value is stored).
BUG_ANSWERS: dict[str, Any] = {
    "email": "u0@example.com", "subject": "Export fails", "category": "bug", "products": ["web", "api"],
    "severity": "high", "platforms": ["windows", "linux"],
    "steps": "1. Open the report\n2. Press Export\n3. Nothing happens", "browser": "Firefox 120",
    "api_version": "v2", "error_code": "E-4012", "message": "The export button does nothing since Monday.",
}


@provider("conditional_ticket", title="Contact support", timeout=None)
def conditional_ticket(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {
        "title": "Contact support",
        "description": "Tell us what went wrong; we answer within one business day.",
        "submitLabel": "Send ticket",
        "fields": [
            {"name": "email", "type": "email", "required": True, "lockKnown": True},
            {"name": "subject", "type": "text", "required": True, "maxLength": 200},
            {"name": "category", "type": "select", "required": True,
             "options": _options("question", "A question", "billing", "Billing", "bug", "Something is broken",
                                 "account", "My account")},
            {"name": "products", "label": "Products concerned", "type": "checkboxes", "maxItems": 3,
             "options": _options("web", "Web app", "mobile", "Mobile app", "api", "API", "desktop", "Desktop app")},
            # billing
            {"name": "invoice", "label": "Invoice number", "required": True, "maxLength": 40,
             "visibleIf": _is("category", "billing")},
            {"name": "billing_issue", "label": "What is wrong", "type": "radio", "required": True,
             "options": _options("charge", "An unexpected charge", "refund", "I want a refund", "copy",
                                 "A copy of an invoice"),
             "visibleIf": _is("category", "billing")},
            {"name": "refund_reason", "label": "Why a refund", "type": "textarea", "maxLength": 2000,
             "visibleIf": _is("billing_issue", "refund")},
            {"name": "amount", "type": "number", "min": 0,
             "visibleIf": {"in": [{"var": "billing_issue"}, ["charge", "refund"]]},
             "requiredIf": _is("billing_issue", "refund")},
            # bug
            {"name": "severity", "type": "select", "required": True, "options": SEVERITIES, "visibleIf": BUG},
            {"name": "platforms", "label": "Platforms", "type": "select", "multiple": True, "maxItems": 3,
             "options": _options("windows", "Windows", "macos", "macOS", "linux", "Linux", "ios", "iOS",
                                 "android", "Android"),
             "visibleIf": BUG},
            {"name": "steps", "label": "Steps to reproduce", "type": "textarea", "maxLength": 5000,
             "visibleIf": BUG, "requiredIf": {"in": [{"var": "severity"}, ["high", "critical"]]},
             "help": "Required for high and critical problems."},
            {"name": "browser", "maxLength": 100, "visibleIf": {"and": [BUG, _has("products", "web")]}},
            {"name": "api_version", "label": "API version", "type": "select",
             "options": _options("v1", "v1", "v2", "v2", "v3", "v3"),
             "visibleIf": {"and": [BUG, _has("products", "api")]}, "requiredIf": _has("products", "api")},
            {"name": "error_code", "label": "Error code", "maxLength": 64, "visibleIf": BUG,
             "requiredIf": _is("severity", "critical")},
            # account
            {"name": "account_id", "label": "Account ID", "required": True, "maxLength": 40,
             "visibleIf": _is("category", "account")},
            {"name": "changes", "label": "Changes wanted", "type": "checkboxes", "maxItems": 2,
             "options": _options("email", "Change the email", "plan", "Change the plan", "owner",
                                 "Transfer ownership", "delete", "Delete the account"),
             "required": True, "visibleIf": _is("category", "account")},
            {"name": "message", "type": "textarea", "required": True, "maxLength": 10000},
        ],
    }
