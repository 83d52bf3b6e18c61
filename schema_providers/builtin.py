"""Built-in demo providers.

``user.trusted`` holds only attributes that arrived signed (identityToken) or
were set by the integrator's backend; ``user.metadata`` also holds what the
browser merely claims. Privileges, like the enterprise priorities, must come
from ``user.trusted``.
"""

from __future__ import annotations

from typing import Any

from .registry import provider

ENTERPRISE_PRIORITIES = [
    {"label": "Critical", "value": "critical"},
    {"label": "High", "value": "high"},
    {"label": "Normal", "value": "normal"},
]
STANDARD_PRIORITIES = [
    {"label": "High", "value": "high"},
    {"label": "Normal", "value": "normal"},
    {"label": "Low", "value": "low"},
]


CATEGORIES = [
    {"label": "A question", "value": "question"},
    {"label": "Billing", "value": "billing"},
    {"label": "Something is broken", "value": "bug"},
]
PRODUCTS = [{"label": "Web app", "value": "web"}, {"label": "Mobile app", "value": "mobile"},
            {"label": "API", "value": "api"}]


@provider("support_ticket", title="Contact support", timeout=None)  # pure: cannot hang, runs inline
def support_ticket(args: dict[str, str], user: Any) -> dict[str, Any]:
    enterprise = user.trusted.get("plan") == "enterprise"
    return {
        "title": "Contact support",
        "description": "Tell us what went wrong; we answer within one business day.",
        "submitLabel": "Send ticket",
        "fields": [
            # Prefilled by the engine from userMetadata.email, then locked.
            {"name": "email", "type": "email", "required": True, "lockKnown": True},
            {"name": "name", "type": "text"},
            {"name": "company", "type": "text"},
            {"name": "subject", "type": "text", "required": True,
             "defaultValue": args.get("subject") or None, "maxLength": 200},
            # The follow-up questions depend on the answer (rules in JSON Logic,
            # decided again by the server at submit: see docs/providers.md).
            {"name": "category", "type": "select", "options": CATEGORIES},
            {"name": "invoice", "label": "Invoice number", "required": True, "maxLength": 40,
             "visibleIf": {"==": [{"var": "category"}, "billing"]}},
            {"name": "affected", "label": "Affected products", "type": "checkboxes", "maxItems": 3,
             "options": PRODUCTS, "visibleIf": {"==": [{"var": "category"}, "bug"]}},
            {"name": "steps", "label": "Steps to reproduce", "type": "textarea", "maxLength": 5000,
             "visibleIf": {"==": [{"var": "category"}, "bug"]},
             "requiredIf": {"in": ["api", {"var": "affected"}]}, "help": "Required for API problems."},
            {"name": "priority", "type": "select", "required": True,
             "options": ENTERPRISE_PRIORITIES if enterprise else STANDARD_PRIORITIES},
            {"name": "message", "type": "textarea", "required": True, "maxLength": 10000},
            # Optional; the file's type is judged by its content, and the operator's UPLOAD_* caps apply too.
            {"name": "screenshot", "type": "file", "accept": ["image/png", "image/jpeg", "image/gif", "image/webp"],
             "maxSize": 5 * 1024 * 1024, "help": "A picture of what you see helps us help you."},
        ],
    }


def greeting(user: Any, text: str) -> str:
    """``text`` after "Hi <name>, " when the name is known, else as a sentence of
    its own: a template of a missing name would read "Hi , …". The name still goes
    in by a placeholder, so the engine's escaping and secret checks apply."""
    name = user.metadata.get("name")
    if isinstance(name, str) and name.strip():
        return f"Hi {{{{userMetadata.name}}}}, {text}"
    return text[:1].upper() + text[1:]


@provider("refund", title="Request a refund", timeout=None)
def refund(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {
        "description": greeting(user, "tell us which order to refund."),
        "lockKnown": True,
        "fields": [
            {"name": "email", "type": "email", "required": True},
            {"name": "orderId", "label": "Order number", "required": True,
             "defaultValue": args.get("orderId") or None, "pattern": "[A-Z0-9\\-]{3,20}",
             "patternMessage": "3 to 20 capital letters, digits or dashes, as on your receipt."},
            {"name": "amount", "type": "number", "min": 0, "required": True},
            {"name": "reason", "type": "radio", "required": True, "options": [
                {"label": "Damaged", "value": "damaged"},
                {"label": "Not as described", "value": "not_as_described"},
                {"label": "Other", "value": "other"},
            ]},
            {"name": "details", "type": "textarea", "lockKnown": False},
            {"name": "keepUpdated", "type": "checkbox", "label": "Email me about this refund"},
        ],
    }
