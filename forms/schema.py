"""The schema format providers return, validated with marshmallow.

An invalid schema is a provider author's bug: :func:`load_schema` raises
:class:`~forms.errors.SchemaError` naming the provider, the field and the
problem — never a value. A valid one becomes an immutable :class:`FormSchema`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mf

from . import rules
from .conditions import Rule, rule_of
from .errors import SchemaError
from .files import parse_accept
from .patterns import browser_problem

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
        _check_rules(data.get("fields") or [])
        progressive = data.get("progressive")
        if progressive:
            unknown = [n for n in progressive["fields"] if n not in seen]
            if unknown:
                problem = f"names no field of this form: {', '.join(unknown)}."
                raise ValidationError({"progressive": {"fields": [problem]}})
            if len(set(progressive["fields"])) != len(progressive["fields"]):
                raise ValidationError({"progressive": {"fields": ["names a field twice."]}})


def _check_rules(items: list[dict[str, Any]]) -> None:
    """Every rule reads known fields with supported operators, and no field's
    visibility depends on itself through others (a circle has no answer)."""
    names = {item["name"] for item in items}
    errors: dict[int, dict[str, Any]] = {}
    depends: dict[str, set[str]] = {}
    for index, item in enumerate(items):
        found: dict[str, Any] = {}
        reads: set[str] = set()
        for key in RULE_KEYS:
            if item.get(key) is not None:
                problems = rules.check_rule(item[key], names)
                if problems:
                    found[key] = problems
                elif key == "visibleIf":
                    reads |= rules.variables(item[key])
        for o_index, option in enumerate(item.get("options") or ()):
            if option.get("visibleIf") is not None:
                problems = rules.check_rule(option["visibleIf"], names)
                if problems:
                    found.setdefault("options", {})[o_index] = {"visibleIf": problems}
                else:
                    reads |= rules.variables(option["visibleIf"])
        if found:
            errors[index] = found
        depends[item["name"]] = reads
    if errors:
        raise ValidationError({"fields": errors})
    circle = rules.find_cycle(depends)
    if circle:
        index = next(i for i, item in enumerate(items) if item["name"] == circle[0])
        raise ValidationError({"fields": {index: {"visibleIf": [
            "fields' rules depend on each other in a circle: " + " -> ".join(circle) + "."]}}})


def is_multi(ftype: str, multiple: bool) -> bool:
    """Whether a field's value is a list of option values."""
    return ftype == "checkboxes" or (ftype == "select" and multiple)


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    value: str
    visible_if: Rule | None = None  # JSON Logic: shown (and a valid choice) only while true


@dataclass(frozen=True, slots=True)
class FieldRules:
    """What a field is and the rules its value must keep (shared by spec and resolved field)."""

    name: str
    type: str
    required: bool
    min_length: int | None
    max_length: int | None
    min: Any
    max: Any
    pattern: str | None
    pattern_message: str | None  # what a value that does not match is told (server and browser)
    autocomplete: str | None  # the HTML autocomplete token: from the schema, else from name and type
    # Keyword-only, so subclasses keep their positional fields.
    multiple: bool = field(default=False, kw_only=True)  # a list of option values (checkboxes, select multiple)
    min_items: int | None = field(default=None, kw_only=True)
    max_items: int | None = field(default=None, kw_only=True)
    visible_if: Rule | None = field(default=None, kw_only=True)  # JSON Logic over the answers (forms.rules)
    required_if: Rule | None = field(default=None, kw_only=True)
    hide_known: bool = field(default=False, kw_only=True)  # not asked when trusted metadata knows it
    save_to_profile: bool = field(default=False, kw_only=True)  # the answer goes back to userMetadata
    # A file field's: accepted MIME types and extensions (None: any), bytes per file, files.
    accept: tuple[str, ...] | None = field(default=None, kw_only=True)
    max_size: int | None = field(default=None, kw_only=True)
    max_files: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class FieldSpec(FieldRules):
    """A field as the provider wrote it (strings still templated)."""

    label: str
    default: Any
    disabled: bool
    options: tuple[Option, ...]
    placeholder: str | None
    help: str | None
    lock_known: bool | None


@dataclass(frozen=True, slots=True)
class FormSchema:
    fields: tuple[FieldSpec, ...]
    title: str | None
    description: str | None
    submit_label: str | None
    lock_known: bool
    # ``progressive: {fields, max}``: ask at most ``max`` of these profile questions at a time.
    progressive: tuple[tuple[str, ...], int] | None = None
    # What the resolver derives from the schema alone, computed once (see forms.resolve).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


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


# WCAG 1.3.5: fields about the user say what they are, so browsers can fill them.
_AUTOCOMPLETE_BY_NAME = {
    "email": "email", "emailaddress": "email", "name": "name", "fullname": "name", "firstname": "given-name",
    "givenname": "given-name", "lastname": "family-name", "familyname": "family-name", "surname": "family-name",
    "company": "organization", "organization": "organization", "organisation": "organization",
    "phone": "tel", "telephone": "tel", "tel": "tel", "mobile": "tel", "address": "street-address",
    "streetaddress": "street-address", "postalcode": "postal-code", "postcode": "postal-code", "zip": "postal-code",
    "zipcode": "postal-code", "country": "country-name", "city": "address-level2",
}
_AUTOCOMPLETE_BY_TYPE = {"email": "email", "tel": "tel", "url": "url"}


def autocomplete_for(name: str, ftype: str) -> str | None:
    if ftype in ("hidden", "checkbox", "checkboxes", "radio", "select", "file"):
        return None
    return _AUTOCOMPLETE_BY_NAME.get(name.replace("_", "").replace("-", "").lower()) or _AUTOCOMPLETE_BY_TYPE.get(ftype)


def _max_length(f: dict[str, Any]) -> int | None:
    if f.get("maxLength") is not None or f.get("pattern") is None:
        return f.get("maxLength")
    return max(PATTERN_MAX_LENGTH, f.get("minLength") or 0)


@dataclass(frozen=True, slots=True)
class FileCaps:
    """The operator's limits on every file field (``UPLOAD_MAX_BYTES``,
    ``UPLOAD_MAX_FILES``): a form's own can only be lower."""

    max_size: int
    max_files: int


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
