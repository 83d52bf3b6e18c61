"""(schema, identity) -> an immutable resolved form. Pure: no request, no I/O.

Steps: templates, then exact-key prefill, then locking, then a last sweep that
blanks any string still carrying a sensitive value of this identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from sys import getsizeof
from typing import Any

from . import templating
from .identity import Identity
from .messages import N_
from .prefill import NOT_FIT, fit
from .schema import humanize
from .sensitive import SensitiveKeys, contains_secret
from .spec import FieldRules, FieldSpec, FormSchema, Option

log = logging.getLogger("prefill.engine")


@dataclass(frozen=True, slots=True)
class ResolvedField(FieldRules):
    """A field as this identity sees it: templated, prefilled, maybe locked."""

    label: str
    value: Any
    disabled: bool
    options: tuple[Option, ...]
    placeholder: str | None
    help: str | None
    prefilled: bool  # the value came from userMetadata
    # Where the value came from: "trusted" (signed or admin-set), "claimed" (the
    # browser's claim), "default" (the provider's defaultValue), "template" (a
    # defaultValue with placeholders) or None (no value).
    source: str | None = None
    # Not asked: ``hideKnown`` (trusted metadata knows it) or a profile question
    # already answered. Its value still counts, for the rules and the submission.
    known_hidden: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "value": self.value,
            "disabled": self.disabled,
            "options": [{"label": o.label, "value": o.value} for o in self.options] or None,
            "placeholder": self.placeholder,
            "help": self.help,
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "min": self.min,
            "max": self.max,
            "pattern": self.pattern,
            "patternMessage": self.pattern_message,
            "autocomplete": self.autocomplete,
            "source": self.source,
            **self._extras(),
        }

    def _extras(self) -> dict[str, Any]:
        """The keys of conditional and multi-value fields, only where they apply:
        a form without them answers as it did before they existed."""
        out: dict[str, Any] = {}
        if self.multiple:
            out.update(multiple=True, minItems=self.min_items, maxItems=self.max_items)
            out["value"] = None if self.value is None else list(self.value)
        if self.visible_if is not None:
            out["visibleIf"] = self.visible_if.tree
        if self.required_if is not None:
            out["requiredIf"] = self.required_if.tree
        if any(o.visible_if is not None for o in self.options):
            out["options"] = [{"label": o.label, "value": o.value, "visibleIf": o.visible_if.tree}
                              if o.visible_if is not None else {"label": o.label, "value": o.value}
                              for o in self.options]
        if self.known_hidden:
            out["knownHidden"] = True
        if self.type == "file":  # the limits after the operator's caps; a file field is never prefilled
            out.update(accept=list(self.accept) if self.accept else None, maxSize=self.max_size,
                       maxFiles=self.max_files, value=None)
        return out


@dataclass(frozen=True)
class ResolvedForm:
    name: str
    title: str
    description: str | None
    submit_label: str
    fields: tuple[ResolvedField, ...]
    # What names this exact form in caches (set by the engine when it memoises
    # it: renderers key their output by it), and an estimate of the bytes it
    # holds beyond its schema (for byte-bounded caches).
    key: Any = field(default=None, compare=False, repr=False)
    weight: int = field(default=0, compare=False, repr=False)
    # What is derived from the fields alone, made once per form (the rules' order: forms.validate).
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def field(self, name: str) -> ResolvedField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "submitLabel": self.submit_label,
            "fields": [f.to_json() for f in self.fields],
        }


class _Sweeper:
    """Templates strings and blanks the ones carrying a secret value."""

    def __init__(self, form: str, context: Mapping[str, Any], secrets: frozenset[str]) -> None:
        self.form, self.context, self.secrets = form, context, secrets

    def __call__(self, text: str | None, where: str) -> str | None:
        if text is None:
            return None
        out = templating.render(text, self.context)
        if self.secrets and contains_secret(out, self.secrets):
            log.warning(
                "form %r, %s: blanked a string that contained a sensitive value", self.form, where
            )
            return ""
        return out


def template_context(identity: Identity, sensitive: SensitiveKeys) -> dict[str, Any]:
    return {
        "userId": identity.user_id,
        "visitorId": identity.visitor_id,
        "userMetadata": sensitive.scrub(identity.metadata),
        "sessionMetadata": sensitive.scrub(identity.session_metadata),
    }


def rule_attrs(spec: FieldRules) -> dict[str, Any]:
    """The keyword-only rules a resolved field takes over from its spec unchanged."""
    return {"multiple": spec.multiple, "min_items": spec.min_items, "max_items": spec.max_items,
            "visible_if": spec.visible_if, "required_if": spec.required_if, "hide_known": spec.hide_known,
            "save_to_profile": spec.save_to_profile, "accept": spec.accept, "max_size": spec.max_size,
            "max_files": spec.max_files}


def _default(spec: FieldSpec) -> Any:
    return tuple(spec.default) if spec.multiple and spec.default is not None else spec.default


def _resolve_field(
    spec: FieldSpec, schema: FormSchema, metadata: Mapping[str, Any], sweep: _Sweeper,
    trusted: Mapping[str, Any],
) -> ResolvedField:
    where = f"field {spec.name!r}"
    prefilled = False
    value: Any = None
    source = None
    if spec.default is not None:
        value = _default(spec)
        source = "default"
        if spec.multiple:
            pass  # option values, swept with the options below
        elif isinstance(value, str):
            source = "template" if "{{" in value else "default"
            value = sweep(value, where + " defaultValue")
        elif not isinstance(value, bool) and sweep.secrets and contains_secret(str(value), sweep.secrets):
            log.warning("form %r, %s: blanked a defaultValue that was a sensitive value", sweep.form, where)
            value = None
    elif spec.name in metadata:
        fitted = fit(spec.type, metadata[spec.name], frozenset(o.value for o in spec.options), spec.multiple)
        if fitted is not NOT_FIT:
            value, prefilled = fitted, True
            source = "trusted" if spec.name in trusted else "claimed"
            text = "\x00".join(value) if spec.multiple else value
            if isinstance(text, str) and sweep.secrets and contains_secret(text, sweep.secrets):
                log.warning("form %r, %s: blanked a prefilled value", sweep.form, where)
                value, prefilled, source = None, False, None
    pattern = spec.pattern
    if pattern is not None and sweep.secrets and contains_secret(pattern, sweep.secrets):
        log.warning("form %r, %s: dropped a pattern that contained a sensitive value", sweep.form, where)
        pattern = None
    lock_known = spec.lock_known if spec.lock_known is not None else schema.lock_known
    options = tuple(
        Option(sweep(o.label, where + " option label") or "", sweep(o.value, where + " option") or "", o.visible_if)
        for o in spec.options
    )
    if spec.multiple and value is not None:  # only what is still an option (a swept one is blank)
        value = tuple(v for v in value if v in {o.value for o in options} and v) or None
    return ResolvedField(
        name=spec.name,
        type=spec.type,
        label=sweep(spec.label, where + " label") or "",
        required=spec.required,
        value=value,
        disabled=spec.disabled or (bool(lock_known) and prefilled) or (spec.hide_known and source == "trusted"),
        options=options,
        placeholder=sweep(spec.placeholder, where + " placeholder"),
        help=sweep(spec.help, where + " help"),
        min_length=spec.min_length,
        max_length=spec.max_length,
        min=spec.min,
        max=spec.max,
        pattern=pattern,
        pattern_message=spec.pattern_message,
        autocomplete=spec.autocomplete,
        prefilled=prefilled,
        source=source if value is not None else None,
        known_hidden=spec.hide_known and prefilled and source == "trusted",
        **rule_attrs(spec),
    )


@dataclass(frozen=True, slots=True)
class _Static:
    """A field whose resolution cannot depend on the identity unless the user has
    metadata under its name: no placeholders anywhere in it."""

    field: ResolvedField
    text: str  # every string in it, for the secret sweep
    prefillable: bool  # no explicit default: metadata under its name would fill it


def _statics(schema: FormSchema) -> tuple[_Static | None, ...]:
    found = schema.memo.get("statics")
    if found is None:
        kept = schema.memo.get("partial_statics", {})  # forms.shape.refill: the unchanged fields'
        found = schema.memo["statics"] = tuple(kept[i] if i in kept else _static(spec)
                                               for i, spec in enumerate(schema.fields))
    return found


def _static(spec: FieldSpec) -> _Static | None:
    strings = [spec.label, spec.placeholder or "", spec.help or "",
               *(o.label for o in spec.options), *(o.value for o in spec.options)]
    if spec.default is not None and not isinstance(spec.default, bool):
        strings.append(str(spec.default))
    if spec.pattern is not None:
        strings.append(spec.pattern)
    if spec.pattern_message is not None:
        strings.append(spec.pattern_message)
    text = "\x00".join(strings)
    if "{{" in text:
        return None
    resolved = ResolvedField(
        name=spec.name, type=spec.type, required=spec.required, min_length=spec.min_length,
        max_length=spec.max_length, min=spec.min, max=spec.max, pattern=spec.pattern,
        pattern_message=spec.pattern_message, autocomplete=spec.autocomplete, label=spec.label,
        value=_default(spec), disabled=spec.disabled, options=spec.options, placeholder=spec.placeholder,
        help=spec.help, prefilled=False, source=None if spec.default is None else "default", **rule_attrs(spec),
    )
    return _Static(resolved, text, spec.default is None)


def _progressive(fields: tuple[ResolvedField, ...], names: tuple[str, ...], most: int) -> tuple[ResolvedField, ...]:
    """Ask at most ``most`` of the profile questions ``names``, in their order:
    one already answered (metadata fills it) is not asked again but still
    counts; the unanswered ones past ``most`` wait for a later form."""
    asked, later = 0, set()
    by_name = {f.name: f for f in fields}
    known = {}
    for name in names:
        rf = by_name[name]
        if rf.prefilled:
            known[name] = replace(rf, known_hidden=True, disabled=True)
        elif asked < most:
            asked += 1
        else:
            later.add(name)
    return tuple(known.get(f.name, f) for f in fields if f.name not in later)


def field_bytes(rf: ResolvedField) -> int:
    """A generous estimate of the memory one resolved field holds (getsizeof of a
    str is exact and O(1)); tests check it against a deep measurement."""
    total = 600 + getsizeof(rf.label) + getsizeof(rf.help) + getsizeof(rf.placeholder) + getsizeof(rf.value)
    for o in rf.options:
        total += 200 + getsizeof(o.label) + getsizeof(o.value)
    return total


def resolve(
    name: str,
    schema: FormSchema,
    identity: Identity,
    sensitive: SensitiveKeys,
    default_title: str | None = None,
    key: Any = None,
    supplied: tuple[str, ...] = (),
) -> ResolvedForm:
    """Resolve ``schema`` for ``identity``: the one place the form rules live.

    ``supplied``: what the caller sent (the form's args). A secret value the
    caller wrote itself is not blanked where a provider echoes it back: the
    caller knows it already, and blanking it would answer "is this the
    secret?" for any guess (an oracle)."""
    context = template_context(identity, sensitive)
    secrets = sensitive.secret_values(identity.metadata, identity.session_metadata)
    if supplied and secrets:
        secrets = frozenset(v for v in secrets if not any(v in text for text in supplied))
    sweep = _Sweeper(name, context, secrets)
    metadata = context["userMetadata"]  # sanitized: sensitive keys never prefill
    fields = tuple(
        static.field
        if static is not None
        and not (static.prefillable and spec.name in metadata)
        and not (secrets and contains_secret(static.text, secrets))
        else _resolve_field(spec, schema, metadata, sweep, identity.trusted)
        for spec, static in zip(schema.fields, _statics(schema), strict=True)
    )
    title = sweep(schema.title, "title") if schema.title else None
    statics = _statics(schema)
    own = sum(field_bytes(f) for f, s in zip(fields, statics, strict=True) if s is None or f is not s.field)
    if schema.progressive is not None:
        fields = _progressive(fields, *schema.progressive)
    description = sweep(schema.description, "description")
    return ResolvedForm(
        name=name,
        title=title or default_title or humanize(name),
        description=description,
        submit_label=sweep(schema.submit_label, "submitLabel") or N_("Submit"),
        fields=fields,
        key=key,
        weight=own + 64 * len(fields) + 600 + getsizeof(title) + getsizeof(description),
    )
