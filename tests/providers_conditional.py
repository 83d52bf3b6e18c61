"""Forms with rules, multi-selects and profile questions, for the server-side tests."""

from schema_providers import provider

CATEGORIES = [{"label": "Billing", "value": "billing"}, {"label": "Bug", "value": "bug"},
              {"label": "Outage (enterprise)", "value": "outage",
               "visibleIf": {"==": [{"var": "plan"}, "enterprise"]}}]


@provider("triage")
def triage(args, user):
    return {"fields": [
        {"name": "email", "type": "email", "required": True, "lockKnown": True},
        {"name": "plan", "type": "select", "hideKnown": True, "lockKnown": True,
         "options": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"},
                     {"label": "Enterprise", "value": "enterprise"}]},
        {"name": "category", "type": "radio", "required": True, "options": CATEGORIES},
        {"name": "invoice", "required": True, "visibleIf": {"==": [{"var": "category"}, "billing"]}},
        {"name": "steps", "type": "textarea", "visibleIf": {"==": [{"var": "category"}, "bug"]},
         "requiredIf": {"in": ["crash", {"var": "products"}]}},
        {"name": "products", "type": "checkboxes", "maxItems": 2,
         "options": [{"label": "App", "value": "app"}, {"label": "API", "value": "api"},
                     {"label": "Crash reporter", "value": "crash"}]},
        {"name": "tags", "type": "select", "multiple": True, "minItems": 1, "saveToProfile": True,
         "options": [{"label": "Urgent", "value": "urgent"}, {"label": "Question", "value": "question"},
                     {"label": "Feedback", "value": "feedback"}]},
        {"name": "refund", "type": "checkbox", "visibleIf": {"==": [{"var": "category"}, "billing"]}},
        {"name": "amount", "type": "number", "visibleIf": {"var": "refund"}, "requiredIf": {"var": "refund"}},
    ]}


@provider("profile")
def profile(args, user):
    return {"fields": [
        {"name": "message", "type": "textarea", "required": True},
        {"name": "company", "saveToProfile": True},
        {"name": "role", "saveToProfile": True},
        {"name": "teamSize", "type": "number", "saveToProfile": True},
    ], "progressive": {"fields": ["company", "role", "teamSize"], "max": 2}}
