"""A module that registers a name the built-ins already use (start-up must refuse)."""

from schema_providers import provider


@provider("support_ticket")
def my_support_ticket(args, user):
    return {"fields": [{"name": "x"}]}
