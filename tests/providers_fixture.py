"""Providers the tests register through PREFILL_PROVIDER_MODULES."""

from __future__ import annotations

import asyncio
from typing import Any

from marshmallow import Schema, validate
from marshmallow import fields as mfields

from schema_providers import provider


@provider("all_types", title="Every type")
def all_types(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {
        "lockKnown": True,
        "fields": [
            {"name": "text", "type": "text", "minLength": 2, "maxLength": 10},
            {"name": "email", "type": "email"},
            {"name": "textarea", "type": "textarea"},
            {"name": "select", "type": "select", "options": [
                {"label": "One", "value": "1"}, {"label": "Two", "value": "2"}]},
            {"name": "radio", "type": "radio", "options": [
                {"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
            {"name": "checkbox", "type": "checkbox"},
            {"name": "number", "type": "number", "min": 1, "max": 100},
            {"name": "date", "type": "date", "min": "2020-01-01", "max": "2030-12-31"},
            {"name": "tel", "type": "tel", "pattern": "[0-9+ ]{6,20}"},
            {"name": "url", "type": "url"},
            {"name": "hidden", "type": "hidden"},
        ],
    }


@provider("open_form")
def open_form(args: dict[str, str], user: Any) -> dict[str, Any]:
    """Nothing locked: every value may be edited."""
    return {"fields": [
        {"name": "email", "type": "email", "required": True},
        {"name": "name", "type": "text", "lockKnown": False},
        {"name": "notes", "type": "textarea"},
    ]}


@provider("templated")
def templated(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {
        "title": "Hello {{userMetadata.name}}",
        "description": "Plan {{ userMetadata.account.plan }} / {{sessionMetadata.page}} / {{other.x}}",
        "fields": [
            {"name": "greeting", "defaultValue": "Hi {{userMetadata.name}} ({{userId}}, {{visitorId}})"},
            {"name": "obj", "defaultValue": "[{{userMetadata.account}}][{{userMetadata.tags}}][{{userMetadata.nope}}]"},
            {"name": "name", "label": "Your name, {{userMetadata.name}}", "lockKnown": True},
            {"name": "pick", "type": "select", "options": [
                {"label": "Me: {{userMetadata.name}}", "value": "me"}, {"label": "Other", "value": "other"}]},
        ],
    }


@provider("leaky")
def leaky(args: dict[str, str], user: Any) -> dict[str, Any]:
    """A buggy provider that copies a secret into what the browser sees."""
    token = str(user.metadata.get("authToken", ""))
    return {"fields": [
        {"name": "note", "defaultValue": f"token={token}"},
        {"name": "label_leak", "label": f"L {token}"},
        {"name": "fine", "defaultValue": "ok"},
    ]}


@provider("broken")
def broken(args: dict[str, str], user: Any) -> dict[str, Any]:
    raise RuntimeError("database password is hunter2")


@provider("bad_schema")
def bad_schema(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [{"name": "prio", "type": "select", "defaultValue": "sekrit-value"}]}


@provider("async_form")
async def async_form(args: dict[str, str], user: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"fields": [{"name": "who", "defaultValue": user.user_id or "nobody"}]}


@provider("echo_args")
def echo_args(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [{"name": "seen", "defaultValue": ",".join(sorted(args))}]}


@provider("locked_required")
def locked_required(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [{"name": "account", "required": True, "disabled": True}, {"name": "note"}]}


@provider("quoting")
def quoting(args: dict[str, str], user: Any) -> dict[str, Any]:
    """A provider whose exception quotes the user's token (then logged)."""
    raise ValueError(f"upstream refused token {user.metadata.get('authToken')}")


@provider("secret_copies")
def secret_copies(args: dict[str, str], user: Any) -> dict[str, Any]:
    """Copies a numeric secret into defaultValue and a secret into a pattern."""
    pin, token = user.metadata.get("pinSecret"), user.metadata.get("authToken", "x")
    return {"fields": [
        {"name": "n", "type": "number", "defaultValue": pin},
        {"name": "code", "pattern": f"{token}|[a-z]+"},
    ]}


class OrderArgs(Schema):
    orderId = mfields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9-]{3,20}$"))
    amount = mfields.Integer(load_default=None)


CALLS: list[dict[str, Any]] = []  # what with_args was called with (the args reached it, or not)


@provider("with_args", args=OrderArgs)
def with_args(args: dict[str, Any], user: Any) -> dict[str, Any]:
    CALLS.append(args)
    return {"fields": [{"name": "orderId", "defaultValue": args["orderId"]},
                       {"name": "amount", "type": "number", "defaultValue": args["amount"]}]}


@provider("verified_only", requires="verified")
def verified_only(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [{"name": "note"}]}


@provider("identified_only", requires="identified")
def identified_only(args: dict[str, str], user: Any) -> dict[str, Any]:
    return {"fields": [{"name": "note"}]}


@provider("slow", timeout=0.3)
def slow(args: dict[str, str], user: Any) -> dict[str, Any]:
    import time

    time.sleep(1.0)
    return {"fields": [{"name": "late"}]}


@provider("slow_async", timeout=0.3)
async def slow_async(args: dict[str, str], user: Any) -> dict[str, Any]:
    await asyncio.sleep(1.0)
    return {"fields": [{"name": "late"}]}


@provider("localized")
def localized(args: dict[str, str], user: Any) -> dict[str, Any]:
    """A provider that localises its own labels by ``user.locale``."""
    label = {"de": "Nachricht", "fr": "Message", "es": "Mensaje"}.get(user.locale or "", "Message")
    return {"fields": [{"name": "message", "label": label, "required": True},
                       {"name": "password", "type": "text"}, {"name": "count", "type": "number", "min": 1000}]}
