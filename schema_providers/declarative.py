"""Declarative forms: a schema written as data, with variants chosen by the
user's attributes — forms without code.

A variant's ``when`` reads **trusted** attributes unless a key says
``claimed.`` explicitly: ``{plan: enterprise}`` means ``trusted.plan``, which
only a signed token or the integrator's backend can set, so a browser's claim
can never select a privileged variant by accident::

    fields: [...]
    variants:
      - when: {plan: enterprise}                 # trusted.plan
        replace: {priority: {options: [...]}}     # keys merged into a field
        add: [{name: accountManager}]             # fields appended
        remove: [company]                         # fields dropped
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mf

from forms.schema import load_schema

SCHEMA_KEYS = ("title", "description", "submitLabel", "lockKnown", "progressive")


class _Variant(Schema):
    class Meta:
        unknown = RAISE

    when = mf.Dict(keys=mf.String(), required=True)
    replace = mf.Dict(keys=mf.String(), values=mf.Dict(keys=mf.String()), load_default=dict)
    add = mf.List(mf.Dict(), load_default=list)
    remove = mf.List(mf.String(), load_default=list)

    @validates_schema
    def _scopes(self, data: dict[str, Any], **_: Any) -> None:
        for key in data["when"]:
            scope, dot, name = key.partition(".")
            if dot and (scope not in ("trusted", "claimed") or not name):
                raise ValidationError({"when": [f"{key!r}: write 'name', 'trusted.name' or 'claimed.name'."]})


class DeclaredForm(Schema):
    class Meta:
        unknown = RAISE

    title = mf.String(allow_none=True)
    description = mf.String(allow_none=True)
    submitLabel = mf.String(allow_none=True)
    lockKnown = mf.Boolean(allow_none=True)
    progressive = mf.Dict(keys=mf.String(), allow_none=True)  # checked with the fields, by load_schema
    requires = mf.String(allow_none=True, validate=validate.OneOf(["identified", "verified"]))
    fields = mf.List(mf.Dict(), required=True)
    variants = mf.List(mf.Nested(_Variant), load_default=list)


def conditions(when: Mapping[str, Any]) -> list[tuple[str, str, tuple[Any, ...]]]:
    """``(scope, key, accepted values)``; bare keys are trusted."""
    out = []
    for key, value in when.items():
        scope, dot, name = key.partition(".")
        scope, name = (scope, name) if dot else ("trusted", key)
        out.append((scope, name, tuple(value) if isinstance(value, list) else (value,)))
    return out


def _matches(when: Mapping[str, Any], user: Any) -> bool:
    for scope, key, accepted in conditions(when):
        source = user.trusted if scope == "trusted" else _claimed(user)
        if source.get(key) not in accepted:
            return False
    return True


def _claimed(user: Any) -> Mapping[str, Any]:
    """What the browser claimed: userMetadata less what is trusted."""
    return {k: v for k, v in user.metadata.items() if k not in user.trusted}


def apply_variants(form: Mapping[str, Any], matching: Callable[[Mapping[str, Any]], bool]) -> dict[str, Any]:
    """The schema (provider format) with every matching variant applied, in order."""
    out = {k: copy.deepcopy(form[k]) for k in SCHEMA_KEYS if form.get(k) is not None}
    fields_ = [dict(f) for f in form["fields"]]
    for variant in form.get("variants", ()):
        if not matching(variant["when"]):
            continue
        fields_ = [f for f in fields_ if f.get("name") not in set(variant["remove"])]
        for f in fields_:
            f.update(copy.deepcopy(variant["replace"].get(f.get("name"), {})))
        fields_ += copy.deepcopy(variant["add"])
    out["fields"] = fields_
    return out


def declared_provider(name: str, form: Mapping[str, Any]) -> Callable[[dict[str, str], Any], dict[str, Any]]:
    """A provider function for a declared form; every combination of its
    variants is validated now, so a broken config stops start-up."""
    variants = form.get("variants", ())
    for mask in range(2 ** min(len(variants), 8)):
        chosen = [v for i, v in enumerate(variants) if mask >> i & 1]
        load_schema(name, apply_variants(form, lambda when, chosen=chosen: any(when is v["when"] for v in chosen)))

    def provide(args: dict[str, str], user: Any) -> dict[str, Any]:
        return apply_variants(form, lambda when: _matches(when, user))

    provide.__qualname__ = f"declared:{name}"
    # What `prefill check` resolves the form for: every value a variant tests.
    provide.conditions = [c for v in variants for c in conditions(v["when"])]  # type: ignore[attr-defined]
    return provide
