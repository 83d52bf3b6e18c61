"""The schema format providers return, validated with marshmallow.

An invalid schema is a provider author's bug: :func:`load_schema` raises
:class:`~forms.errors.SchemaError` naming the provider, the field and the
problem — never a value. A valid one becomes an immutable :class:`FormSchema`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mf

from .autocomplete import autocomplete_for
from .conditions import rule_of, rule_problems
from .errors import SchemaError
from .files import parse_accept
from .patterns import browser_problem
from .spec import FieldSpec, FileCaps, FormSchema, Option

FIELD_TYPES = (
    "text", "email", "textarea", "select", "radio", "checkbox", "checkboxes",
    "number", "date", "tel", "url", "hidden", "file",
)
FILE_KEYS = ("accept", "maxSize", "maxFiles")  # a file field's own (forms.files)
MAX_FILES = 100  # a file field's maxFiles, at most (the operator's UPLOAD_MAX_FILES caps it lower)
CHOICE_TYPES = frozenset({"select", "radio", "checkboxes"})
RULE_KEYS = ("visibleIf", "requiredIf")  # a field's rules (JSON Logic over the answers, see forms.rules)
NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESERVED_NAMES = frozenset({"csrf_token", "form_key", "prefill_schema"})  # Prefill's own hidden inputs
ADHOC_MAX_FIELDS = 100  # a client-defined form (the widget's ad-hoc forms)
# A field with a ``pattern`` and no ``maxLength`` gets this one: the pattern (a
# regex we do not control) then never runs on an unbounded value.
PATTERN_MAX_LENGTH = 1000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def humanize(name: str) -> str:
    """``company_name`` and ``companyName`` both give ``Company name``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    words = spaced.split()
    if not words:
        return name
    text = " ".join(w.lower() for w in words)
    return text[0].upper() + text[1:]


def parse_iso_date(value: Any) -> date | None:
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _OptionSchema(Schema):
    class Meta:
        unknown = RAISE

    label = mf.String(required=True)
    value = mf.String(required=True)
    visibleIf = mf.Raw(allow_none=True)


class _FieldSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mf.String(required=True, validate=validate.Regexp(NAME_RE))
    type = mf.String(load_default="text", validate=validate.OneOf(FIELD_TYPES))
    label = mf.String(allow_none=True)
    required = mf.Boolean(load_default=False)
    defaultValue = mf.Raw(allow_none=True)
    disabled = mf.Boolean(load_default=False)
    options = mf.List(mf.Nested(_OptionSchema), allow_none=True)
    placeholder = mf.String(allow_none=True)
    help = mf.String(allow_none=True)
    minLength = mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    maxLength = mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    min = mf.Raw(allow_none=True)
    max = mf.Raw(allow_none=True)
    pattern = mf.String(allow_none=True, validate=validate.Length(max=1000))
    patternMessage = mf.String(allow_none=True, validate=validate.Length(max=300))
    autocomplete = mf.String(allow_none=True, validate=validate.Regexp(r"^[a-z0-9 -]{1,100}$"))
    lockKnown = mf.Boolean(allow_none=True)
    visibleIf = mf.Raw(allow_none=True)
    requiredIf = mf.Raw(allow_none=True)
    hideKnown = mf.Boolean(load_default=False)
    saveToProfile = mf.Boolean(load_default=False)
    multiple = mf.Boolean(load_default=False)
    minItems = mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=500))
    maxItems = mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=500))
    accept = mf.Raw(allow_none=True)
    maxSize = mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    maxFiles = mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_FILES))

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        ftype = data.get("type", "text")
        if data.get("name") in RESERVED_NAMES:
            errors["name"] = ["is reserved by Prefill."]
        multi = is_multi(ftype, data.get("multiple", False))
        if data.get("multiple") and ftype != "select":
            errors["multiple"] = [f"only a select can take several values (use type 'checkboxes' for {ftype!r})."]
        for key in ("minItems", "maxItems"):
            if data.get(key) is not None and not multi:
                errors[key] = ["only for a field that takes several values (checkboxes, select with multiple)."]
        if (data.get("minItems") or 0) > (data.get("maxItems") or 500):
            errors["minItems"] = ["must not exceed maxItems."]
        options = data.get("options")
        if ftype in CHOICE_TYPES:
            if not options:
                errors["options"] = [f"required and non-empty for type {ftype!r}."]
            else:
                values = [o["value"] for o in options]
                if len(set(values)) != len(values):
                    errors["options"] = ["option values must be unique."]
        elif options is not None:
            errors["options"] = [f"not allowed for type {ftype!r}."]
        default = data.get("defaultValue")
        _file_rules(data, errors)
        if multi:
            if default is not None and not (isinstance(default, list) and all(isinstance(v, str) for v in default)):
                errors["defaultValue"] = ["must be a list of option values for a field that takes several."]
            elif default and not set(default) <= {o["value"] for o in options or ()}:
                errors["defaultValue"] = ["must hold option values only."]
        elif isinstance(default, (dict, list)):
            errors["defaultValue"] = ["must be a string, number or boolean."]
        for key in ("min", "max"):
            bound = data.get(key)
            if bound is None:
                continue
            if ftype == "date":
                if parse_iso_date(bound) is None:
                    errors[key] = ["must be an ISO date (YYYY-MM-DD) for a date field."]
            elif not _is_number(bound):
                errors[key] = ["must be a number."]
        lo, hi = data.get("minLength"), data.get("maxLength")
        if lo is not None and hi is not None and lo > hi:
            errors["minLength"] = ["must not exceed maxLength."]
        pattern = data.get("pattern")
        if pattern is not None:
            problem = browser_problem(pattern)  # first: it also refuses what Python warns about ([a&&b])
            if problem:
                errors["pattern"] = [f"would be ignored by browsers: {problem}."]
            else:
                try:
                    re.compile(pattern)
                except re.error:
                    errors["pattern"] = ["is not a valid regular expression."]
        if errors:
            raise ValidationError(errors)


def _file_rules(data: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """``accept``, ``maxSize`` and ``maxFiles`` belong to file fields; a file
    field has no default, pattern or length (its value is a list of uploads)."""
    if data.get("type") != "file":
        for key in FILE_KEYS:
            if data.get(key) is not None:
                errors[key] = ["only for a field of type 'file'."]
        return
    if data.get("accept") is not None:
        parsed = parse_accept(data["accept"])
        if isinstance(parsed, list):
            errors["accept"] = parsed
    for key in ("defaultValue", "pattern", "minLength", "maxLength", "min", "max"):
        if data.get(key) is not None:
            errors[key] = ["not allowed for type 'file'."]
    if data.get("saveToProfile"):
        errors["saveToProfile"] = ["not allowed for type 'file': files never go to a profile."]


class _ProgressiveSchema(Schema):
    class Meta:
        unknown = RAISE

    fields = mf.List(mf.String(), required=True, validate=validate.Length(min=1, max=100))
    max = mf.Integer(strict=True, load_default=1, validate=validate.Range(min=1))


class _FormSchema(Schema):
    class Meta:
        unknown = RAISE

    fields = mf.List(
        mf.Nested(_FieldSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    title = mf.String(allow_none=True)
    description = mf.String(allow_none=True)
    submitLabel = mf.String(allow_none=True)
    lockKnown = mf.Boolean(load_default=False)
    progressive = mf.Nested(_ProgressiveSchema, allow_none=True)

    @validates_schema
    def _unique_names(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[str] = set()
        for index, item in enumerate(data.get("fields") or ()):
            if item["name"] in seen:
                raise ValidationError(
                    {"fields": {index: {"name": ["duplicate field name."]}}}
                )
            seen.add(item["name"])
        problems = rule_problems(data.get("fields") or [])
        if problems:
            raise ValidationError({"fields": problems})
        progressive = data.get("progressive")
        if progressive:
            unknown = [n for n in progressive["fields"] if n not in seen]
            if unknown:
                problem = f"names no field of this form: {', '.join(unknown)}."
                raise ValidationError({"progressive": {"fields": [problem]}})
            if len(set(progressive["fields"])) != len(progressive["fields"]):
                raise ValidationError({"progressive": {"fields": ["names a field twice."]}})


def is_multi(ftype: str, multiple: bool) -> bool:
    """Whether a field's value is a list of option values."""
    return ftype == "checkboxes" or (ftype == "select" and multiple)


_VALIDATOR = _FormSchema()


def _flatten(messages: Any, raw: Any, path: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"field 'email'.type": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, list):
        out[path or "schema"] = [str(m) for m in messages]
        return out
    for key, sub in messages.items():
        if path == "fields" and isinstance(key, int):
            name = None
            if isinstance(raw, dict) and isinstance(raw.get("fields"), list):
                items = raw["fields"]
                if key < len(items) and isinstance(items[key], dict):
                    candidate = items[key].get("name")
                    if isinstance(candidate, str) and re.match(NAME_RE, candidate):
                        name = candidate
            where = f"field {name!r}" if name else f"fields[{key}]"
        elif key == "_schema":
            where = path or "schema"
        else:
            where = f"{path}.{key}" if path else str(key)
        out.update(_flatten(sub, raw, where))
    return out


def _max_length(f: dict[str, Any]) -> int | None:
    if f.get("maxLength") is not None or f.get("pattern") is None:
        return f.get("maxLength")
    return max(PATTERN_MAX_LENGTH, f.get("minLength") or 0)


def _file_attrs(f: dict[str, Any], caps: FileCaps | None) -> dict[str, Any]:
    if f["type"] != "file":
        return {}
    size, files = f.get("maxSize"), f.get("maxFiles") or 1
    if caps is not None:
        size, files = min(size or caps.max_size, caps.max_size), min(files, caps.max_files)
    accept = parse_accept(f["accept"]) if f.get("accept") is not None else None
    return {"accept": accept, "max_size": size, "max_files": files}


def load_schema(provider: str, raw: Any, caps: FileCaps | None = None) -> FormSchema:
    """Validate a provider's output and freeze it, or raise :class:`SchemaError`.
    ``caps`` lowers file fields' limits to the operator's."""
    if not isinstance(raw, dict):
        raise SchemaError(provider, {"schema": ["must be a dict with a 'fields' list."]})
    try:
        data = _VALIDATOR.load(raw)
    except ValidationError as exc:
        raise SchemaError(provider, _flatten(exc.messages, raw)) from None
    specs = tuple(
        FieldSpec(
            name=f["name"],
            type=f["type"],
            label=f.get("label") or humanize(f["name"]),
            required=f["required"],
            default=f.get("defaultValue"),
            disabled=f["disabled"],
            options=tuple(Option(o["label"], o["value"], rule_of(o.get("visibleIf"))) for o in f.get("options") or ()),
            placeholder=f.get("placeholder"),
            help=f.get("help"),
            min_length=f.get("minLength"),
            max_length=_max_length(f),
            min=f.get("min"),
            max=f.get("max"),
            pattern=f.get("pattern"),
            pattern_message=f.get("patternMessage"),
            autocomplete=f.get("autocomplete") or autocomplete_for(f["name"], f["type"]),
            lock_known=f.get("lockKnown"),
            multiple=is_multi(f["type"], f["multiple"]),
            min_items=f.get("minItems"),
            max_items=f.get("maxItems"),
            visible_if=rule_of(f.get("visibleIf")),
            required_if=rule_of(f.get("requiredIf")),
            hide_known=f["hideKnown"],
            save_to_profile=f["saveToProfile"],
            **_file_attrs(f, caps),
        )
        for f in data["fields"]
    )
    return FormSchema(
        fields=specs,
        title=data.get("title"),
        description=data.get("description"),
        submit_label=data.get("submitLabel"),
        lock_known=data["lockKnown"],
        progressive=_progressive(data.get("progressive")),
    )


def _progressive(data: dict[str, Any] | None) -> tuple[tuple[str, ...], int] | None:
    return (tuple(data["fields"]), data["max"]) if data else None
