"""Rendering resolved forms: HTML (WTForms widgets inside Jinja2) and JSON.

A field's HTML and JSON depend only on its resolved field, so both are memoised
by that value: a new user's form renders just the fields that differ for them
(their email, their name), not the ones every user shares.
"""

from __future__ import annotations

import json
import secrets
from sys import getsizeof
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup, escape

from forms import wtf
from forms.errors import PrefillError
from forms.lru import text_bytes
from forms.messages import N_
from forms.resolve import ResolvedField, ResolvedForm, field_bytes

from .i18n import request_locale, translate
from .state import state
from .theme import page_theme

# Cached pages are shared by every visitor who sees the same form: the hidden
# per-visitor inputs (the CSRF token, the one-time form key) are cut out at this
# unguessable mark and put back in at serve time, so the cache holds one page
# per form, not one per visitor.
CSRF_SLOT = f"csrf-slot-{secrets.token_hex(16)}"


def hidden_inputs(csrf: str, form_key: str) -> Markup:
    """The per-view inputs: the session's CSRF token, and a key naming this one
    intent to send the form (a double post or a retry stores one submission)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">'
                  '<input type="hidden" name="form_key" value="{}">').format(csrf, form_key)


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
    pages = state().pages
    found = pages.get((kind, form.key))
    if found is None:
        found = render()
        pages.put((kind, form.key), found)
    return found


def form_page(form: ResolvedForm, csrf: str, embed: bool) -> str:
    head, tail = cached_page(form, ("html", embed, page_theme(), request_locale()),
                             lambda: tuple(render_form(form, escape(CSRF_SLOT), embed).split(CSRF_SLOT, 1)))
    return "".join((head, hidden_inputs(csrf, new_form_key()), tail))  # plain str: Markup + str would escape


def _field_macro() -> Any:  # a Jinja macro
    return current_app.jinja_env.get_template("_field.html").module.field


def _render_fields(fields: list[ResolvedField], shown: dict | None, errors: dict[str, list[str]]) -> list[Markup]:
    wtform = wtf.build(fields, shown, translate)
    macro = _field_macro()
    return [macro(rf, wtform[rf.name], errors.get(rf.name), wtf.render_attrs, wtf.shows_as_text(rf)) for rf in fields]


def field_html(form: ResolvedForm) -> list[Markup]:
    """The fields of ``form`` as shown before any input, memoised per field."""
    memo = state().fragments
    kind = ("html", request_locale())
    found = [memo.get((*kind, rf)) for rf in form.fields]
    missing = [rf for rf, html in zip(form.fields, found, strict=True) if html is None]
    if missing:
        fresh = dict(zip((rf.name for rf in missing), _render_fields(missing, None, {}), strict=True))
        for rf in missing:
            memo.put((*kind, rf), fresh[rf.name])
        found = [html if html is not None else fresh[rf.name] for rf, html in zip(form.fields, found, strict=True)]
    return found  # type: ignore[return-value]


def render_form(
    form: ResolvedForm, hidden: Markup, embed: bool, *, shown: dict | None = None,
    errors: dict[str, list[str]] | None = None, notice: PrefillError | None = None,
) -> str:
    """The whole page; with ``shown``/``errors`` (a failed post) nothing is memoised.
    ``hidden`` is :func:`hidden_inputs` (or the slot for them); ``notice`` is the
    error shown above the form (its code goes in ``data-code``)."""
    if shown is None and not errors:
        fields = field_html(form)
    else:
        fields = _render_fields(list(form.fields), shown, errors or {})
    summary = [(rf.name if rf.type != "radio" or wtf.shows_as_text(rf) else f"{rf.name}-0", rf.label, msgs[0])
               for rf in form.fields if (msgs := (errors or {}).get(rf.name))]
    return render_template("form.html", resolved=form, fields_html=fields, hidden=hidden, embed=embed, notice=notice,
                           summary=summary)


def sent_values(form: ResolvedForm, values: dict[str, Any]) -> list[tuple[str, str]]:
    """What was sent, labelled, for the thanks page: no hidden or sensitive
    fields, choices by their label, a checkbox as Yes or No."""
    sensitive = state().sensitive
    shown = []
    for rf in form.fields:
        if rf.type == "hidden" or sensitive.is_sensitive(rf.name) or rf.name not in values:
            continue
        value = values[rf.name]
        if rf.type == "checkbox":
            text = translate(N_("Yes") if value else N_("No"))
        elif value is None or value == "":
            continue
        else:
            text = next((o.label for o in rf.options if o.value == value), str(value))
        shown.append((rf.label, text))
    return shown


def form_json(form: ResolvedForm) -> str:
    """The JSON schema API body for ``form``, from memoised per-field fragments."""
    memo = state().fragments
    parts = []
    for rf in form.fields:
        fragment = memo.get(("json", rf))
        if fragment is None:
            fragment = json.dumps(rf.to_json(), separators=(",", ":"))
            memo.put(("json", rf), fragment)
        parts.append(fragment)
    head = json.dumps({"name": form.name, "title": form.title, "description": form.description,
                       "submitLabel": form.submit_label}, separators=(",", ":"))
    return f'{head[:-1]},"fields":[{",".join(parts)}]}}'
