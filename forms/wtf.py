"""A WTForms form built from a resolved form (``BaseForm``, no subclassing).

Only rendering and form-data collection happen here; the rules themselves live
in :mod:`forms.validate` so the HTML and JSON surfaces enforce the same ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import fields as wf
from wtforms.form import BaseForm
from wtforms.widgets import DateInput, NumberInput

from .messages import N_
from .resolve import ResolvedField, ResolvedForm

READONLY_TYPES = frozenset({"text", "email", "textarea", "tel", "url", "date", "number"})
# A locked choice is shown as a read-only text control with the chosen label: it
# stays in the Tab order and a screen reader says its value (``disabled`` would
# hide both). The server enforces the value, as for every locked field.
LOCKED_CHOICE_TYPES = frozenset({"select", "radio", "checkbox"})


def shows_as_text(field: ResolvedField) -> bool:
    return field.disabled and field.type in LOCKED_CHOICE_TYPES


def render_attrs(field: ResolvedField) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if field.required and field.type not in ("hidden",):
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


def _same(text: str) -> str:
    return text


def _unbound(field: ResolvedField, tr: Callable[[str], str]) -> Any:
    label = field.label
    if shows_as_text(field):
        return wf.StringField(label, render_kw=render_attrs(field))
    kw = {} if field.type == "radio" else {"render_kw": render_attrs(field)}
    choices = [wf.SelectChoice(o.value, o.label) for o in field.options]
    t = field.type
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


def display(field: ResolvedField, value: Any, tr: Callable[[str], str]) -> Any:
    if shows_as_text(field):
        if field.type == "checkbox":
            return tr(N_("Yes") if value else N_("No"))
        return next((o.label for o in field.options if o.value == value), "" if value is None else str(value))
    if field.type == "file":
        return value  # uploads kept by a failed post: the template lists them
    if value is None:
        return "" if field.type != "checkbox" else False
    if field.type == "checkbox":
        return bool(value)
    if field.type == "number" and isinstance(value, float) and value.is_integer():
        return str(value)
    return value if isinstance(value, str) else str(value)


def build(fields: Sequence[ResolvedField], shown: dict[str, Any] | None = None,
          tr: Callable[[str], str] = _same) -> BaseForm:
    """A WTForms form of ``fields`` showing their resolved values, or ``shown``
    (re-rendered input); ``tr`` translates Prefill's own words ("Choose…")."""
    wtform = BaseForm([(f.name, _unbound(f, tr)) for f in fields])
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
        elif field.name in formdata:
            values[field.name] = formdata.get(field.name)
    return values
