"""A support form with rules and multi-selects, for the page tests (tests/test_conditions_browser.py)."""

from __future__ import annotations

from typing import Any

from schema_providers import provider

BILLING = {"==": [{"var": "category"}, "billing"]}
BUG = {"==": [{"var": "category"}, "bug"]}


@provider("conditional_ticket", title="Get help")
def conditional_ticket(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [
        {"name": "email", "type": "email", "required": True, "lockKnown": True},
        # Known from trusted metadata: not asked, yet rules read it.
        {"name": "plan", "type": "select", "hideKnown": True, "options": [
            {"label": "Free", "value": "free"}, {"label": "Enterprise", "value": "enterprise"}]},
        {"name": "region", "type": "select", "lockKnown": True, "options": [
            {"label": "Europe", "value": "eu"}, {"label": "United States", "value": "us"}]},
        {"name": "vat", "label": "VAT number", "visibleIf": {"==": [{"var": "region"}, "eu"]}},
        {"name": "category", "type": "radio", "required": True, "options": [
            {"label": "Billing", "value": "billing"}, {"label": "Bug", "value": "bug"},
            {"label": "Outage", "value": "outage", "visibleIf": {"==": [{"var": "plan"}, "enterprise"]}}]},
        {"name": "invoice", "label": "Invoice number", "required": True, "visibleIf": BILLING},
        {"name": "refund", "type": "checkbox", "label": "I want a refund", "visibleIf": BILLING},
        {"name": "amount", "type": "number", "required": True, "visibleIf": {"var": "refund"}},
        {"name": "products", "type": "checkboxes", "label": "Affected products", "maxItems": 2, "options": [
            {"label": "App", "value": "app"}, {"label": "API", "value": "api"},
            {"label": "Dashboard", "value": "dashboard"}]},
        {"name": "steps", "type": "textarea", "label": "Steps to reproduce", "visibleIf": BUG,
         "requiredIf": {"in": ["api", {"var": "products"}]}},
        {"name": "tags", "type": "select", "multiple": True, "minItems": 1, "maxItems": 2, "lockKnown": True,
         "options": [
            {"label": "Urgent", "value": "urgent"}, {"label": "Question", "value": "question"},
            {"label": "Feedback", "value": "feedback"}]},
        {"name": "message", "type": "textarea", "required": True},
    ]}
