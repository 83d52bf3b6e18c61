"""Why each field was or was not pre-filled and locked, for a given identity.

Pure, like the resolver it explains: it reads the provider's schema, the
identity and the resolved form, and says in words what happened, with the
near misses authors hit most (``Email`` or ``e_mail`` for ``email``, a number
where a string option is expected, a value that is not among the options).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .identity import Identity
from .prefill import NOT_FIT, fit
from .resolve import ResolvedField, ResolvedForm
from .sensitive import SensitiveKeys
from .spec import FieldSpec, FormSchema

CASE_MISMATCH = "case_mismatch"  # the warning kind `prefill check` reports


@dataclass
class FieldExplanation:
    name: str
    filled: bool
    locked: bool
    source: str | None
    reasons: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.name, "filled": self.filled, "locked": self.locked, "source": self.source,
                "reasons": self.reasons, "warnings": [{"kind": k, "message": m} for k, m in self.warnings]}


def _norm(key: str) -> str:
    return re.sub(r"[_\-\s]", "", key).lower()


def _near_misses(name: str, keys: list[str]) -> tuple[list[str], list[str]]:
    """Keys equal to ``name`` but for case or ``_``/``-``; keys that contain it."""
    target = _norm(name)
    same = [k for k in keys if k != name and _norm(k) == target]
    similar = [k for k in keys if k not in same and k != name and len(target) >= 3
               and (_norm(k).startswith(target) or _norm(k).endswith(target))]
    return same, similar


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            type(None): "null"}.get(type(value), type(value).__name__)


def explain_field(spec: FieldSpec, rf: ResolvedField, schema: FormSchema, identity: Identity,
                  sensitive: SensitiveKeys) -> FieldExplanation:
    out = FieldExplanation(spec.name, rf.value is not None, rf.disabled, rf.source)
    metadata = dict(identity.metadata)
    if spec.default is not None:
        how = "filled by a template" if rf.source == "template" else "the provider's defaultValue"
        out.reasons.append(f"{how} wins: userMetadata is not used for a field with a defaultValue")
    elif spec.name in metadata:
        value = metadata[spec.name]
        options = frozenset(o.value for o in spec.options)
        if sensitive.is_sensitive(spec.name):
            out.reasons.append(f"key {spec.name!r} is sensitive: filtered out, never shown to a browser")
        elif fit(spec.type, value, options) is NOT_FIT:
            if spec.options and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                listed = ", ".join(repr(o.value) for o in spec.options)
                out.reasons.append(f"value {value!r} is not among the options ({listed})")
            else:
                out.reasons.append(f"key {spec.name!r} holds {_kind(value)}, which does not fit a {spec.type} field")
        elif not rf.prefilled:
            out.reasons.append("the value was blanked: it contained a sensitive value")
        else:
            where = "trusted (signed or set by your backend)" if rf.source == "trusted" else "claimed by the browser"
            out.reasons.append(f"matched key {spec.name!r}, {where}")
    else:
        same, similar = _near_misses(spec.name, list(metadata))
        for key in same:
            out.warnings.append((CASE_MISMATCH, f"key {key!r} differs from the field name {spec.name!r} only by "
                                                f"case or '_': rename it to {spec.name!r}"))
        for key in similar:
            out.warnings.append(("similar_key", f"key {key!r} looks like the field {spec.name!r} but keys must "
                                                f"match exactly"))
        out.reasons.append(f"no key {spec.name!r} in userMetadata")
    if rf.known_hidden:
        out.reasons.append("not asked: hideKnown is on and trusted metadata knows it"
                           if spec.hide_known and rf.source == "trusted" else
                           "not asked: a profile question already answered (progressive)")
    elif rf.disabled:
        out.reasons.append("locked: the provider set disabled" if spec.disabled else
                           "locked: lockKnown is on and the value is known")
    elif rf.prefilled:
        out.reasons.append("not locked: lockKnown is off for this field")
    return out


def _later(spec: FieldSpec, schema: FormSchema) -> FieldExplanation:
    names, most = schema.progressive or ((), 0)
    return FieldExplanation(spec.name, False, False, None, [
        f"not in this form: a profile question for a later form (progressive asks at most {most} of "
        f"{', '.join(names)} at a time)"])


def explain(schema: FormSchema, resolved: ResolvedForm, identity: Identity,
            sensitive: SensitiveKeys) -> list[FieldExplanation]:
    """One explanation per field of the schema, in its order; a profile question
    left for a later form (``progressive``) is in the schema but not the form."""
    by_name = {rf.name: rf for rf in resolved.fields}
    return [_later(spec, schema) if spec.name not in by_name
            else explain_field(spec, by_name[spec.name], schema, identity, sensitive)
            for spec in schema.fields]
