"""Rendering resolved forms to HTML (WTForms widgets inside Jinja2 templates).

Each field's HTML depends only on its resolved field, so it is memoised by that
value: a new user's form re-renders just the fields that differ for them (their
email, their name), not the ones every user shares.
"""

from __future__ import annotations

from flask import current_app, render_template
from markupsafe import Markup

from forms import wtf
from forms.resolve import ResolvedField, ResolvedForm

from .state import state


def _field_macro():
    return current_app.jinja_env.get_template("_field.html").module.field


def _render_fields(fields: list[ResolvedField], shown: dict | None, errors: dict[str, list[str]]) -> list[Markup]:
    wtform = wtf.build(fields, shown)
    macro = _field_macro()
    return [macro(rf, wtform[rf.name], errors.get(rf.name), wtf.render_attrs) for rf in fields]


def field_html(form: ResolvedForm) -> list[Markup]:
    """The fields of ``form`` as shown before any input, memoised per field."""
    memo = state().field_html
    found = [memo.get(rf) for rf in form.fields]
    missing = [rf for rf, html in zip(form.fields, found, strict=True) if html is None]
    if missing:
        fresh = dict(zip((rf.name for rf in missing), _render_fields(missing, None, {}), strict=True))
        for rf in missing:
            memo.put(rf, fresh[rf.name])
        found = [html if html is not None else fresh[rf.name] for rf, html in zip(form.fields, found, strict=True)]
    return found  # type: ignore[return-value]


def render_form(
    form: ResolvedForm, csrf: str, embed: bool, *, shown: dict | None = None,
    errors: dict[str, list[str]] | None = None, notice: str | None = None,
) -> str:
    """The whole page; with ``shown``/``errors`` (a failed post) nothing is memoised."""
    if shown is None and not errors:
        fields = field_html(form)
    else:
        fields = _render_fields(list(form.fields), shown, errors or {})
    return render_template("form.html", resolved=form, fields_html=fields, csrf=csrf, embed=embed, notice=notice)
