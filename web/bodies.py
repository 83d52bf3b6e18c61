"""Request bodies: parsed as JSON, validated with marshmallow, errors in one shape."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from forms.errors import InvalidJSON, ValidationFailed

METADATA_MAX_BYTES = 16 * 1024
VISITOR_ID = r"^v_\d{10,16}_[a-z0-9]{9,64}$"
# Identifiers are stored as text columns: no control characters (PostgreSQL refuses NUL).
IDENTIFIER = r"^[^\x00-\x1f\x7f]{1,255}$"
IDENTIFIER_ERROR = "Must be 1 to 255 characters, without control characters."


def identifier(value: str, field: str) -> str:
    """``value`` if it can be a userId (or another stored name), else 400 naming ``field``."""
    if not re.match(IDENTIFIER, value):
        raise ValidationFailed(fields={field: [IDENTIFIER_ERROR]})
    return value


MAX_DEPTH = 32


def _shape_problem(value: Any, limit: int) -> str | None:
    """Too deep, or a non-finite number (``1e400`` parses to infinity)? Iterative:
    no recursion to exhaust."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return f"Nested more than {limit} levels deep."
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, float) and not math.isfinite(item):
            return "Numbers must be finite."
    return None


def read_json() -> dict[str, Any]:
    """The body as a JSON object (the size limit is enforced before this: 413)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidJSON("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidJSON() from None
    except RecursionError:
        raise InvalidJSON(f"The request body nests more than {MAX_DEPTH} levels deep.") from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.", {"_schema": ["Must be an object."]})
    problem = _shape_problem(body, MAX_DEPTH)
    if problem:
        raise ValidationFailed(f"The request body is not acceptable: {problem}", {"_schema": [problem]})
    return body


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, list):
        out[prefix or "_schema"] = [str(m) for m in messages]
        return out
    for key, sub in messages.items():
        name = str(key) if key != "_schema" or not prefix else prefix
        out.update(_flatten(sub, f"{prefix}.{name}" if prefix and key != "_schema" else name))
    return out


def load(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise ValidationFailed(fields=_flatten(exc.messages)) from None


def check_metadata(value: dict[str, Any], field: str) -> None:
    if len(json.dumps(value, separators=(",", ":")).encode()) > METADATA_MAX_BYTES:
        raise ValidationFailed(fields={field: ["Must be at most 16 KiB of JSON."]})


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SessionBody(_Strict):
    visitorId = fields.String(
        allow_none=True,
        validate=validate.Regexp(VISITOR_ID, error="Must look like v_<unix ms>_<9+ chars a-z0-9>."),
    )


class UserFields(_Strict):
    userId = fields.String(required=True, validate=validate.Regexp(IDENTIFIER, error=IDENTIFIER_ERROR))
    email = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    metadata = fields.Dict(keys=fields.String(), allow_none=True)


class IdentifyBody(UserFields):
    userMetadata = fields.Dict(keys=fields.String(), allow_none=True)
    userHash = fields.String(allow_none=True)
    identityToken = fields.String(allow_none=True)


class SessionMetadataBody(_Strict):
    metadata = fields.Dict(keys=fields.String(), required=True)


class UpdateBody(_Strict):
    user = fields.Nested(IdentifyBody, allow_none=True)
    session = fields.Nested(SessionMetadataBody, allow_none=True)

    @validates_schema
    def _one_part(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("user") and not data.get("session"):
            raise ValidationError("Send at least one of 'user' and 'session'.")


class SubmissionBody(_Strict):
    args = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    values = fields.Dict(keys=fields.String(), required=True)


class AdminUserBody(_Strict):
    metadata = fields.Dict(keys=fields.String(), required=True)

