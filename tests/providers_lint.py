"""Forms `prefill check` warns or errs about: rules that can never be true,
saveToProfile on a sensitive key, a rule naming an unknown field."""

from schema_providers import provider

CATEGORIES = [{"label": "Billing", "value": "billing"}, {"label": "Bug", "value": "bug"}]
TAGS = [{"label": "Urgent", "value": "urgent"}, {"label": "Question", "value": "question"}]


@provider("typo_rules")
def typo_rules(args, user):
    return {"fields": [
        {"name": "category", "type": "select", "options": CATEGORIES},
        {"name": "tags", "type": "checkboxes", "options": TAGS},
        {"name": "box", "type": "checkbox"},
        {"name": "message", "type": "textarea"},
        {"name": "invoice", "visibleIf": {"==": [{"var": "category"}, "bilind"]}},
        {"name": "steps", "visibleIf": {"in": ["x", {"var": "tags"}]}},
        {"name": "amount", "type": "number", "visibleIf": {"var": "box"}},
        {"name": "refund", "type": "checkbox", "visibleIf": {"==": [{"var": "category"}, "billing"]},
         "requiredIf": {"or": [{"var": "message"}, {"===": [{"var": "category"}, "Bug"]}]}},
    ]}


@provider("secret_profile")
def secret_profile(args, user):
    return {"fields": [{"name": "message", "type": "textarea", "required": True},
                       {"name": "apiToken", "saveToProfile": True},
                       {"name": "company", "saveToProfile": True}]}


@provider("bad_rule")
def bad_rule(args, user):
    return {"fields": [{"name": "category", "type": "radio", "options": CATEGORIES},
                       {"name": "invoice", "visibleIf": {"==": [{"var": "categroy"}, "billing"]}}]}
