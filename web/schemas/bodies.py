"""Request bodies: parsed as JSON, validated with marshmallow, errors in one shape."""

from __future__ import annotations

import json
import math
import operator
import re
from functools import cache
from itertools import accumulate, count
from typing import Any

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from forms.errors import InvalidJSON, UnsupportedMediaType, ValidationFailed
from forms.prefill import MAX_SAFE_INTEGER
from store.sessions import METADATA_MAX_BYTES, VISITOR_ID_MAX

# The columns decide the limits: visitor_id is 64 characters, user_id 255.
VISITOR_ID = re.compile(rf"\Av_[0-9]{{10,16}}_[a-z0-9]{{9,{VISITOR_ID_MAX - 19}}}\Z")
# Identifiers are stored as text columns: no control characters (PostgreSQL refuses NUL).
IDENTIFIER = re.compile(r"\A[^\x00-\x1f\x7f]{1,255}\Z")
IDENTIFIER_ERROR = "Must be 1 to 255 characters, without control characters."


def identifier(value: str, field: str) -> str:
    """``value`` if it can be a userId (or another stored name), else 400 naming ``field``."""
    if not IDENTIFIER.fullmatch(value):
        raise ValidationFailed(fields={field: [IDENTIFIER_ERROR]})
    return value


MAX_DEPTH = 32
# JSON numbers are IEEE doubles in most clients: beyond this an integer is not
# what the sender meant, and a 400-digit one overflows float arithmetic.


def shape_problem(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """Too deep, a non-finite number (``1e400`` parses to infinity) or a number
    past 2**53? Iterative: no recursion to exhaust."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return f"Nested more than {limit} levels deep."
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, float) and not math.isfinite(item):
            return "Numbers must be finite."
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
            return f"Numbers must be within ±{MAX_SAFE_INTEGER}."
    return None


# Deeper than this a body is not parsed at all: json's scanner recurses once a
# level, into a RecursionError near 1,000 levels on 3.11 but not before ~10,000 on
# 3.13 (its C recursion limit), so the answer to a deep body depended on the
# Python. Bounded here, before parsing, it is invalid_json on every version.
PARSE_MAX_DEPTH = 512
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)  # possessive: no backtracking
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_STEPS = bytes.maketrans(b"[{]}", b"\2\2\0\0")  # an opening bracket 2, a closing one 0


def nests_deeper(text: str, limit: int = PARSE_MAX_DEPTH) -> bool:
    """Would parsing ``text`` go more than ``limit`` levels deep? Brackets inside
    strings do not count. Linear, in C: strings cut out, the brackets kept as
    steps, the running depth (2 * openings so far - brackets so far) summed
    lazily up to the first level past ``limit``."""
    if text.count("[") + text.count("{") <= limit:
        return False
    steps = _STRING.sub("", text).encode("utf-8", "surrogatepass").translate(_STEPS, _NOT_BRACKETS)
    return next(filter(limit.__lt__, map(operator.sub, accumulate(steps), count(1))), None) is not None


def _text(raw: bytes | str) -> str:
    try:
        return raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        raise InvalidJSON() from None


def parse_json(raw: bytes | str) -> Any:
    """``raw`` as JSON (UTF-8, -16 or -32, as :func:`json.loads` detects it);
    :class:`InvalidJSON` when it is not JSON or nests past ``PARSE_MAX_DEPTH``."""
    text = _text(raw)
    if nests_deeper(text):
        raise InvalidJSON(f"The request body nests more than {MAX_DEPTH} levels deep.")
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidJSON() from None
    except RecursionError:  # only on a stack already deep: the bound above keeps parsing shallow
        raise InvalidJSON(f"The request body nests more than {MAX_DEPTH} levels deep.") from None


def _has_lone_surrogate(body: dict[str, Any], text: str | None = None) -> bool:
    """``"\\ud800"`` is valid JSON but no text: it cannot be stored or sent on.
    Without a ``\\u`` escape in ``text`` (the parsed text; browsers send none)
    every string is the text's own characters, and outside strings JSON is
    ASCII: encoding the text answers, without writing the body out again."""
    try:
        if text is not None and "\\u" not in text:
            text.encode()
        else:
            json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def is_json_request() -> bool:
    mimetype = request.mimetype
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def read_json() -> dict[str, Any]:
    """The body as a JSON object (the size limit is enforced before this: 413)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidJSON("The request body is empty; send a JSON object.")
    if not is_json_request():
        raise UnsupportedMediaType()
    text = _text(raw)
    body = parse_json(text)
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.", {"_schema": ["Must be an object."]})
    problem = shape_problem(body) or (_has_lone_surrogate(body, text) and "Strings must be valid Unicode text.")
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


@cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per body schema: making one copies every declared field, and
    a schema holds no per-call state, so one serves every request and thread."""
    return schema()


def load(schema: type[Schema], body: dict[str, Any]) -> dict[str, Any]:
    try:
        return _instance(schema).load(body)
    except ValidationError as exc:
        raise ValidationFailed(fields=_flatten(exc.messages)) from None


def check_metadata(value: dict[str, Any], field: str) -> None:
    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
        raise ValidationFailed(fields={field: ["Must be at most 16 KiB of JSON."]})


# In the OpenAPI document: any JSON value, numbers within ±2**53 (see shape_problem).
JSON_VALUE = {"$ref": "#/components/schemas/JsonValue"}


def json_object(**kwargs: Any) -> fields.Dict:
    """A JSON object of any values (metadata, submitted values)."""
    return fields.Dict(keys=fields.String(), metadata={"additionalProperties": JSON_VALUE}, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def visitor_id_field() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Regexp(VISITOR_ID, error=f"Must look like v_<ms>_<a-z0-9>, {VISITOR_ID_MAX} chars at most."),
    )


class SessionBody(_Strict):
    visitorId = visitor_id_field()


class UserFields(_Strict):
    userId = fields.String(required=True, validate=validate.Regexp(IDENTIFIER, error=IDENTIFIER_ERROR))
    email = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    metadata = json_object(allow_none=True)


class IdentifyBody(UserFields):
    userMetadata = json_object(allow_none=True)
    userHash = fields.String(allow_none=True)
    identityToken = fields.String(allow_none=True)


class SessionMetadataBody(_Strict):
    metadata = json_object(required=True)


class UpdateBody(_Strict):
    user = fields.Nested(IdentifyBody, allow_none=True)
    session = fields.Nested(SessionMetadataBody, allow_none=True)

    @validates_schema
    def _one_part(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("user") and not data.get("session"):
            raise ValidationError("Send at least one of 'user' and 'session'.")


class SubmissionBody(_Strict):
    args = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    values = json_object(required=True)


def submission_body(body: dict[str, Any]) -> dict[str, Any]:
    """:class:`SubmissionBody` loaded. The usual body, ``{"values": {...}}``
    with string ``args`` or none, is what the schema would return as it is
    (JSON's keys are strings): checked here directly, a tenth of the cost.
    Anything else goes through the schema, for its messages."""
    values, args = body.get("values"), body.get("args")
    if (isinstance(values, dict) and body.keys() <= _SUBMISSION_KEYS
            and (args is None or (isinstance(args, dict) and all(isinstance(v, str) for v in args.values())))):
        return body
    return load(SubmissionBody, body)


_SUBMISSION_KEYS = frozenset({"values", "args"})


class EmbedSessionBody(_Strict):
    token = fields.String(required=True, validate=validate.Length(min=1, max=8192))
    visitorId = visitor_id_field()


class AdhocSubmissionBody(_Strict):
    schema = json_object(required=True)
    values = json_object(required=True)


class AdminUserBody(_Strict):
    metadata = json_object(required=True)

