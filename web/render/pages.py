"""Rendering resolved forms: HTML (WTForms widgets inside Jinja2) and JSON.

A page shown before any input is filled from HTML compiled once per field and
page shape (:mod:`web.render.compiled`), and kept per resolved form while the cache
keeps it; the per-visitor hidden inputs (CSRF token, one-time form key) go in at
serve time, so the cache holds one page per form, not one per visitor. A failed
post renders through WTForms and Jinja. A field's JSON is memoised by the field.
"""

from __future__ import annotations

import json
import secrets
from sys import getsizeof
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup

from forms import wtf
from forms.conditions import Decision, answers_of, decide, has_rules
from forms.errors import PrefillError
from forms.lru import text_bytes
from forms.messages import N_
from forms.resolve import ResolvedField, ResolvedForm, field_bytes
from web.render import compiled, files
from web.render.i18n import request_locale, translate
from web.render.theme import page_theme
from web.state import state

_CSRF_INPUT = Markup('<input type="hidden" name="csrf_token" value="')
_KEY_INPUT = Markup('"><input type="hidden" name="form_key" value="')
_INPUT_END = Markup('">')


def hidden_inputs(csrf: str, form_key: str) -> Markup:
    """The per-view inputs: the session's CSRF token, and a key naming this one
    intent to send the form (a double post or a retry stores one submission)."""
    return _CSRF_INPUT + csrf + _KEY_INPUT + form_key + _INPUT_END  # Markup + str escapes the str


def schema_input(schema: dict[str, Any] | None) -> Markup:
    """An ad-hoc form carries its own schema: each post is resolved from it again."""
    if schema is None:
        return Markup("")
    text = json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
    return Markup('<input type="hidden" name="prefill_schema" value="{}">').format(text)


def new_form_key() -> str:
    return secrets.token_urlsafe(16)


def fragment_bytes(key: tuple[Any, ...], value: str) -> int:
    return getsizeof(value) + field_bytes(key[-1]) + 100


def page_bytes(key: tuple[Any, ...], value: tuple[str, ...]) -> int:
    """The page's text, plus the form key it keeps alive (its fingerprint and
    identity texts are usually shared with the engine's caches: counted anyway)."""
    return text_bytes(value) + text_bytes(key[1]) + 300


def cached_page(form: ResolvedForm, kind: Any, render: Any) -> tuple[str, ...]:
    """``render()`` once per form and ``kind`` while the byte-bounded cache keeps it."""
    if form.key is None:
        return render()
    return state().pages.get_or_make((kind, form.key), render)


def form_page(form: ResolvedForm, csrf: str, embed: bool) -> str:
    head, tail = cached_page(form, ("html", embed, page_theme(), request_locale()), lambda: page_halves(form, embed))
    return "".join((head, hidden_inputs(csrf, new_form_key()), tail))  # plain str: Markup + str would escape


def page_halves(form: ResolvedForm, embed: bool) -> tuple[str, str]:
    """The page before and after its per-view hidden inputs, filled from the
    page compiled for this form's shape (see :mod:`web.render.compiled`)."""
    def render(marked: ResolvedForm, hidden: Markup, fields: list[Markup]) -> str:
        return render_form(marked, hidden, embed, fields_html=fields)

    key = ("page", compiled.page_shape(form), embed, page_theme(), request_locale())
    parts = state().compiled.get_or_make(key, lambda: compiled.compile_page(form, render))
    texts = compiled.page_texts(form, translate)
    texts[compiled.FIELDS] = "".join(field_html(form))
    at = parts.index(compiled.HIDDEN)
    return compiled.fill(parts[:at], texts), compiled.fill(parts[at + 1:], texts)


def _field_macro() -> Any:  # a Jinja macro
    return current_app.jinja_env.get_template("_field.html").module.field


def decision_for(fields: tuple[ResolvedField, ...], shown: dict | None) -> Decision | None:
    """What the server decides for re-rendered answers (as it does at submit);
    None for a page shown before any answer, which shows every field."""
    if shown is None or not any(map(has_rules, fields)):
        return None
    return decide(fields, answers_of(fields, shown))


def _look(rf: ResolvedField, decision: Decision | None) -> dict[str, Any]:
    if decision is None:
        return {"data": wtf.data_attrs(rf), "conceal": False, "required": False, "gone": wtf.NO_OPTIONS}
    return {"data": wtf.data_attrs(rf), "conceal": not decision.shows(rf.name),
            "required": rf.name in decision.required, "gone": decision.hidden_options.get(rf.name, wtf.NO_OPTIONS)}


def _render_fields(fields: list[ResolvedField], shown: dict | None, errors: dict[str, list[str]],
                   decision: Decision | None = None) -> list[Markup]:
    gone = decision.hidden_options if decision is not None else {}
    if shown is not None and gone:  # a choice its rule hides is no choice: shown unchosen
        shown = {**shown, **{name: _without(shown.get(name), values) for name, values in gone.items()}}
    wtform = wtf.build(fields, shown, translate, gone)
    macro = _field_macro()
    values = shown if shown is not None else {}
    return [macro(rf, wtform[rf.name], errors.get(rf.name), wtf.render_attrs, wtf.shows_as_text(rf),
                  _look(rf, decision), files.file_field(rf, values.get(rf.name)) if rf.type == "file" else None)
            for rf in fields]


def _without(value: Any, values: frozenset[str]) -> Any:
    if isinstance(value, (list, tuple)):
        return [v for v in value if v not in values]
    return None if value in values else value


def field_html(form: ResolvedForm) -> list[Markup]:
    """The fields of ``form`` as shown before any input: each filled from the
    HTML compiled for its shape, with its texts escaped (web.render.compiled)."""
    locale = request_locale()
    return [Markup(_filled(rf, locale)) for rf in form.fields]  # noqa: S704 - escaped when filled


def _filled(rf: ResolvedField, locale: str) -> str:
    key = ("field", locale, compiled.field_shape(rf))
    parts = state().compiled.get_or_make(key, lambda: compiled.compile_field(rf, _render_one))
    return compiled.fill(parts, compiled.field_texts(rf, translate))


def _render_one(rf: ResolvedField) -> str:
    return _render_fields([rf], None, {})[0]


def render_form(
    form: ResolvedForm, hidden: Markup, embed: bool, *, shown: dict | None = None,
    errors: dict[str, list[str]] | None = None, notice: PrefillError | None = None,
    fields_html: list[Markup] | None = None,
) -> str:
    """The whole page through WTForms and Jinja (a failed post, and what the
    compiled pages are made from). ``hidden`` is :func:`hidden_inputs`;
    ``notice`` is the error shown above the form (its code goes in ``data-code``);
    ``fields_html`` replaces the rendered fields."""
    decision = decision_for(form.fields, shown)
    if fields_html is None:
        fields_html = _render_fields(list(form.fields), shown, errors or {}, decision)
    # The summary names the fields shown, each linked to its (first shown) control.
    summary = [(_anchor(rf, decision), rf.label, msgs[0]) for rf in form.fields
               if (msgs := (errors or {}).get(rf.name)) and (decision is None or decision.shows(rf.name))]
    return render_template("form.html", resolved=form, fields_html=fields_html, hidden=hidden, embed=embed,
                           notice=notice, summary=summary)


def _anchor(rf: ResolvedField, decision: Decision | None) -> str:
    if rf.type not in ("radio", "checkboxes") or wtf.shows_as_text(rf):
        return rf.name
    gone = decision.hidden_options.get(rf.name, ()) if decision is not None else ()
    return f"{rf.name}-{next((i for i, o in enumerate(rf.options) if o.value not in gone), 0)}"


Sent = tuple[str, str, list[dict[str, Any]]]


def sent_values(form: ResolvedForm, values: dict[str, Any]) -> list[Sent]:
    """What was sent, labelled, for the thanks page: no hidden or sensitive
    fields, choices by their label, a checkbox as Yes or No, files as links
    (``(label, text, files)``; ``files`` is ``[{name, url, size}]`` for a file field)."""
    sensitive = state().sensitive
    shown: list[Sent] = []
    for rf in form.fields:
        if wtf.conceals(rf) or sensitive.is_sensitive(rf.name) or rf.name not in values:  # not asked: not "sent"
            continue
        value = values[rf.name]
        if rf.type == "checkbox":
            text = translate(N_("Yes") if value else N_("No"))
        elif rf.type == "file":
            linked = files.sent_files(value)
            if linked:
                shown.append((rf.label, ", ".join(f["name"] for f in linked), linked))
            continue
        elif value is None or value == "" or value == []:
            continue
        elif isinstance(value, list):
            text = ", ".join(next((o.label for o in rf.options if o.value == v), str(v)) for v in value)
        else:
            text = next((o.label for o in rf.options if o.value == value), str(value))
        shown.append((rf.label, text, []))
    return shown


def form_json(form: ResolvedForm) -> str:
    """The JSON schema API body for ``form``, from memoised per-field fragments."""
    memo = state().fragments
    # Keyed by the field (last: fragment_bytes weighs it) and its numbers exactly:
    # fields equal but for 0.0 and -0.0, or 1 and 1.0, write different JSON.
    parts = [memo.get_or_make(("json", compiled.exact(rf.min), compiled.exact(rf.max), compiled.exact(rf.value), rf),
                              lambda rf=rf: json.dumps(rf.to_json(), separators=(",", ":")))
             for rf in form.fields]
    head = json.dumps({"name": form.name, "title": form.title, "description": form.description,
                       "submitLabel": form.submit_label}, separators=(",", ":"))
    return f'{head[:-1]},"fields":[{",".join(parts)}]}}'
