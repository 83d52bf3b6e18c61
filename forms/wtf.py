"""A WTForms form built from a resolved form (``BaseForm``, no subclassing).

Only rendering and form-data collection happen here; the rules themselves live
in :mod:`forms.validate` so the HTML and JSON surfaces enforce the same ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import fields as wf
from wtforms.form import BaseForm
from wtforms.widgets import CheckboxInput, DateInput, NumberInput

from .messages import N_
from .resolve import ResolvedField, ResolvedForm

READONLY_TYPES = frozenset({"text", "email", "textarea", "tel", "url", "date", "number"})
# A locked choice is shown as a read-only text control with the chosen label(s):
# it stays in the Tab order and a screen reader says its value (``disabled``
# would hide both). The server enforces the value, as for every locked field.
LOCKED_CHOICE_TYPES = frozenset({"select", "radio", "checkbox", "checkboxes"})
NO_OPTIONS: frozenset[str] = frozenset()


def shows_as_text(field: ResolvedField) -> bool:
    return field.disabled and not field.known_hidden and field.type in LOCKED_CHOICE_TYPES


def conceals(field: ResolvedField) -> bool:
    """Never shown: a hidden input, or a value the form knows and does not ask
    (``hideKnown``, an answered profile question). Rules still read its value."""
    return field.type == "hidden" or field.known_hidden


def render_attrs(field: ResolvedField) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    # A field that a rule may hide is required only while shown: the page's
    # script sets it (without JavaScript the server alone says so, at submit).
    if field.required and field.type not in ("hidden", "checkboxes") and field.visible_if is None:
        attrs["required"] = True
    for attr, value in (
        ("minlength", field.min_length), ("maxlength", field.max_length),
        ("min", field.min), ("max", field.max), ("pattern", field.pattern),
        ("title", field.pattern_message if field.pattern else None),
        ("placeholder", field.placeholder), ("autocomplete", field.autocomplete),
    ):
        if value is not None:
            attrs[attr] = value
    if field.help:
        attrs["aria-describedby"] = f"{field.name}-help"
    if field.disabled:
        if field.type in READONLY_TYPES or shows_as_text(field):
            attrs["readonly"] = True
        else:
            attrs["disabled"] = True
        attrs["class"] = "locked"
        attrs["data-known"] = "1"
    return attrs


def data_attrs(field: ResolvedField) -> dict[str, str]:
    """The wrapper's data for the page's script (static/conditions.js): the
    field's name and type, its rules as JSON, the fields its visibility reads
    (the order to decide in), and a locked choice's value (its control shows
    labels). Only where they apply; derived from the field's shape alone."""
    attrs = {"data-field": field.name, "data-type": field.type}
    if field.multiple:
        attrs["data-multiple"] = ""
    if conceals(field):
        attrs["data-conceal"] = ""
    if field.visible_if is not None:
        attrs["data-visible-if"] = field.visible_if.text
    reads: set[str] = set()
    for rule in (field.visible_if, *(o.visible_if for o in field.options)):
        if rule is not None:
            reads |= rule.reads()
    reads.discard(field.name)
    if reads:
        attrs["data-reads"] = " ".join(sorted(reads))
    if field.required_if is not None:
        attrs["data-required-if"] = field.required_if.text
    if field.required and (field.visible_if is not None or field.required_if is not None):
        attrs["data-required"] = ""
    if field.disabled and (field.type in LOCKED_CHOICE_TYPES or field.multiple):
        value = list(field.value) if field.multiple and field.value is not None else field.value
        attrs["data-value"] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return attrs


def _same(text: str) -> str:
    return text


def _choices(field: ResolvedField, gone: Collection[str]) -> list[wf.SelectChoice]:
    """A select's options; those ``gone`` (hidden by their rule for the posted
    answers) are hidden and cannot be chosen, as the page's script does."""
    out = []
    for o in field.options:
        kw: dict[str, Any] = {}
        if o.visible_if is not None:
            kw["data-visible-if"] = o.visible_if.text
        if o.value in gone:
            kw.update({"hidden": True, "disabled": True, "data-rule-off": True})
        out.append(wf.SelectChoice(o.value, o.label, render_kw=kw or None))
    return out


def _unbound(field: ResolvedField, tr: Callable[[str], str], gone: Collection[str]) -> Any:
    label = field.label
    if conceals(field):  # a multi-select's values: one input each, in the template
        return wf.HiddenField(label, render_kw=render_attrs(field) if field.type == "hidden" else None)
    if shows_as_text(field):
        return wf.StringField(label, render_kw=render_attrs(field))
    kw = {} if field.type in ("radio", "checkboxes") else {"render_kw": render_attrs(field)}
    choices = _choices(field, gone)
    t = field.type
    if t == "checkboxes":
        return wf.SelectMultipleField(label, choices=choices, validate_choice=False, option_widget=CheckboxInput())
    if t == "select" and field.multiple:
        return wf.SelectMultipleField(label, choices=choices, validate_choice=False, **kw)
    if t == "select":
        if field.value is None:
            choices = [wf.SelectChoice("", tr(N_("Choose…"))), *choices]
        return wf.SelectField(label, choices=choices, validate_choice=False, **kw)
    if t == "radio":
        return wf.RadioField(label, choices=choices, validate_choice=False)
    if t == "checkbox":
        return wf.BooleanField(label, **kw)
    if t == "textarea":
        return wf.TextAreaField(label, **kw)
    if t == "email":
        return wf.EmailField(label, **kw)
    if t == "tel":
        return wf.TelField(label, **kw)
    if t == "url":
        return wf.URLField(label, **kw)
    if t == "hidden":
        return wf.HiddenField(label, **kw)
    if t == "file":  # ``accept`` and ``multiple`` follow from the operator's caps too: the page adds them
        return wf.FileField(label, **kw)
    if t == "date":
        return wf.StringField(label, widget=DateInput(), **kw)
    if t == "number":
        return wf.StringField(label, widget=NumberInput(step="any"), **kw)
    return wf.StringField(label, **kw)


def _label(field: ResolvedField, value: Any) -> str:
    return next((o.label for o in field.options if o.value == value), "" if value is None else str(value))


def display(field: ResolvedField, value: Any, tr: Callable[[str], str]) -> Any:
    if field.multiple:
        values = list(value) if isinstance(value, (list, tuple)) else [] if value is None else [value]
        if shows_as_text(field):
            return ", ".join(_label(field, v) for v in values)
        return values
    if shows_as_text(field):
        if field.type == "checkbox":
            return tr(N_("Yes") if value else N_("No"))
        return _label(field, value)
    if field.type == "file":
        return value  # uploads kept by a failed post: the template lists them
    if conceals(field) and field.type == "checkbox":
        return "y" if value else ""
    if value is None:
        return "" if field.type != "checkbox" else False
    if field.type == "checkbox":
        return bool(value)
    if field.type == "number" and isinstance(value, float) and value.is_integer():
        return str(value)
    return value if isinstance(value, str) else str(value)


def build(fields: Sequence[ResolvedField], shown: dict[str, Any] | None = None,
          tr: Callable[[str], str] = _same, gone: Mapping[str, Collection[str]] | None = None) -> BaseForm:
    """A WTForms form of ``fields`` showing their resolved values, or ``shown``
    (re-rendered input); ``tr`` translates Prefill's own words ("Choose…");
    ``gone``: per field, the options its rules hide for ``shown``."""
    gone = gone or {}
    wtform = BaseForm([(f.name, _unbound(f, tr, gone.get(f.name, NO_OPTIONS))) for f in fields])
    values = shown if shown is not None else {f.name: f.value for f in fields}
    wtform.process(data={f.name: display(f, values.get(f.name), tr) for f in fields})
    return wtform


def values_from_formdata(form: ResolvedForm, formdata: MultiDict[str, str]) -> dict[str, Any]:
    """What a browser's form post says, in the JSON API's terms."""
    values: dict[str, Any] = {}
    for field in form.fields:
        if field.type == "checkbox":
            values[field.name] = field.name in formdata and formdata.get(field.name) not in ("", "false", "n")
        elif field.type == "file":  # upload ids (uploads.js, or kept by a failed post); files come apart
            ids = [v for v in formdata.getlist(field.name) if v]
            if ids:
                values[field.name] = ids
        elif field.multiple:
            values[field.name] = formdata.getlist(field.name)  # none chosen: nothing sent
        elif field.name in formdata:
            values[field.name] = formdata.get(field.name)
    return values
