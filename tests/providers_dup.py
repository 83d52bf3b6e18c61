"""A module that registers a name another author module already uses (start-up must refuse)."""

from schema_providers import provider


@provider("all_types")
def my_all_types(args, user):
    return {"fields": [{"name": "x"}]}


@provider("support_ticket", title="Our own support form")
def my_support_ticket(args, user):
    return {"fields": [{"name": "x"}]}
