"""A provider output's shape: everything but its free text.

Providers often return the same form with other texts each time: a subject
from a link, an order number in a default, a name in the description. Every
rule of the schema format that concerns those texts (``label``, ``placeholder``,
``help``, ``defaultValue``; the form's ``title``, ``description``,
``submitLabel``) is about their JSON type alone: a string or null, and for a
default a string, number, boolean or null. So the type stands in for each text
in the shape, the shape is validated once, and an output with a known shape
needs only the new texts put into the schema validated before.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .schema import humanize
from .spec import FieldSpec, FormSchema

FIELD_TEXTS = ("label", "placeholder", "help", "defaultValue")
FORM_TEXTS = ("title", "description", "submitLabel")
_ABSENT: Any = object()


def _kind(key: str, value: Any) -> str | None:
    """The stand-in for a text in the shape; None when its type is not one every
    rule accepts (then the whole output goes through validation, and fails)."""
    cls = value.__class__
    if cls is str:
        return "\x00str"
    if value is None:
        return "\x00null"
    if key == "defaultValue":
        if cls is bool:
            return "\x00bool"
        if cls is int:
            return "\x00int"
        if cls is float:
            return "\x00float"
    return None


def _blank(item: dict[str, Any], keys: tuple[str, ...], texts: list[Any]) -> dict[str, Any] | None:
    """A copy of ``item`` with its texts under ``keys`` replaced by their kinds
    (appended to ``texts``); None when one is of no accepted type."""
    out = dict(item)
    for key in keys:
        value = out.get(key, _ABSENT)
        if value is not _ABSENT:
            if (kind := _kind(key, value)) is None:
                return None
            out[key] = kind
        texts.append(value)
    return out


def split(raw: Any) -> tuple[str, tuple[Any, ...]] | None:
    """(the shape as JSON text, the texts in order), or None for an output that
    is not a dict of field dicts with texts of accepted types."""
    if raw.__class__ is not dict or raw.get("fields").__class__ is not list:
        return None
    texts: list[Any] = []
    top = _blank(raw, FORM_TEXTS, texts)
    fields = []
    for item in raw["fields"]:
        blanked = _blank(item, FIELD_TEXTS, texts) if item.__class__ is dict else None
        if top is None or blanked is None:
            return None
        fields.append(blanked)
    if top is None:
        return None
    top["fields"] = fields
    try:
        return json.dumps(top, separators=(",", ":"), allow_nan=False), tuple(texts)
    except (TypeError, ValueError):
        return None


def _same(a: Any, b: Any) -> bool:
    """Unchanged for sure: ``1 == 1.0`` and ``0.0 == -0.0``, which render apart."""
    return a is b or (a.__class__ is str and a == b)


def refill(schema: FormSchema, before: tuple[Any, ...], texts: tuple[Any, ...]) -> FormSchema:
    """``schema`` (validated with the texts ``before``) with ``texts`` instead:
    what :func:`forms.schema.load_schema` gives for the new output. Fields whose
    texts did not change are kept, with what was derived from them."""
    def text(i: int) -> Any:
        value = texts[i]
        return None if value is _ABSENT else value

    n = len(FORM_TEXTS)
    specs: list[FieldSpec] = []
    kept: list[int] = []
    for index, spec in enumerate(schema.fields):
        at = n + index * len(FIELD_TEXTS)
        if all(_same(texts[i], before[i]) for i in range(at, at + len(FIELD_TEXTS))):
            specs.append(spec)
            kept.append(index)
            continue
        specs.append(replace(spec, label=text(at) or humanize(spec.name), placeholder=text(at + 1),
                             help=text(at + 2), default=text(at + 3)))
    out = FormSchema(fields=tuple(specs), title=text(0), description=text(1), submit_label=text(2),
                     lock_known=schema.lock_known, progressive=schema.progressive)
    statics = schema.memo.get("statics")
    if statics is not None:  # forms.resolve's per-field memo: kept for the fields that are
        out.memo["partial_statics"] = {index: statics[index] for index in kept}
    return out
