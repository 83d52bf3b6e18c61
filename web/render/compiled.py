"""Form HTML compiled once per shape and filled per request.

A form whose values change on every request (a subject from a link, a new
user's email) must not pay a WTForms build and a Jinja render each time. Each
field, and the page around the fields, is rendered once through the ordinary
WTForms + Jinja path with random marks in place of its free text (value,
label, placeholder, help; title, description, submit label). The output is cut
at the marks, and a request joins the pieces with its own texts, escaped by
the function that path escapes them with (markupsafe's ``escape``). Whatever
the rendering path decides from a field's rules, its lock, its source or its
choices is part of the shape, so the output is the same by construction; a
property test compares both paths on random schemas and hostile strings.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from sys import getsizeof
from typing import Any

from markupsafe import Markup, escape

from forms import wtf
from forms.lru import text_bytes
from forms.resolve import ResolvedField, ResolvedForm

# A field's free text: filled per request.
VALUE, LABEL, PLACEHOLDER, HELP = range(4)
# The page's: title, description, submit label, the hidden inputs, the fields.
TITLE, DESCRIPTION, SUBMIT, HIDDEN, FIELDS = range(4, 9)
_NONCE = secrets.token_hex(12)  # unguessable: no provider string can contain a mark
MARKS = tuple(f"m{_NONCE}x{slot}z" for slot in range(9))
_CUT = re.compile("(" + "|".join(MARKS) + ")")
_SLOT_OF = {mark: slot for slot, mark in enumerate(MARKS)}
# Types whose value is free text in the control; a choice's value picks an
# option (or a locked choice's label), so it is part of the shape instead.
TEXT_TYPES = frozenset({"text", "email", "textarea", "tel", "url", "date", "number", "hidden"})

Parts = tuple[str | int, ...]  # literal text and slot numbers, alternating


def exact(value: Any) -> Any:
    """A value as a key that keeps its type: ``1``, ``1.0`` and ``True`` are equal
    in a dict, yet render as "1", "1.0" and "True"; so are ``0.0`` and ``-0.0``."""
    if value is None:
        return None
    if value.__class__ is float:
        return float, repr(value)
    return value.__class__, value


def _value_is_text(rf: ResolvedField) -> bool:
    return rf.type in TEXT_TYPES and not wtf.shows_as_text(rf)


def field_shape(rf: ResolvedField) -> tuple[Any, ...]:
    """Everything of ``rf`` the WTForms path renders other than its free text."""
    return (
        rf.name, rf.type, rf.required, rf.min_length, rf.max_length, exact(rf.min), exact(rf.max), rf.pattern,
        rf.pattern_message, rf.autocomplete, rf.disabled, rf.options, rf.source, rf.placeholder is None,
        bool(rf.help), None if _value_is_text(rf) else exact(rf.value), *_file_shape(rf),
        # Rules are part of the shape (rendered as JSON for the page's script), as
        # are a multi-select and a value the form knows and does not ask.
        rf.multiple, rf.visible_if, rf.required_if, rf.known_hidden,
    )


def _file_shape(rf: ResolvedField) -> tuple[Any, ...]:
    """A file field's limits: its limits text, accept list and script words follow from them."""
    if rf.type != "file":
        return ()
    return rf.accept, rf.max_size, rf.max_files


def compile_field(rf: ResolvedField, render: Callable[[ResolvedField], str]) -> Parts:
    """``render`` (the WTForms path) of ``rf`` with marks for its free text, cut at the marks."""
    marked = dataclasses.replace(
        rf,
        label=MARKS[LABEL],
        value=MARKS[VALUE] if _value_is_text(rf) else rf.value,
        placeholder=None if rf.placeholder is None else MARKS[PLACEHOLDER],
        help=MARKS[HELP] if rf.help else rf.help,
    )
    return cut(render(marked))


def field_texts(rf: ResolvedField, tr: Callable[[str], str]) -> tuple[Markup, ...]:
    """The escaped texts for the slots of ``rf``'s compiled HTML."""
    value = wtf.display(rf, rf.value, tr) if _value_is_text(rf) else ""
    return escape(value), escape(rf.label), escape(rf.placeholder or ""), escape(rf.help or "")


def page_shape(form: ResolvedForm) -> tuple[Any, ...]:
    return form.name, bool(form.description), any(f.type == "file" for f in form.fields)  # multipart


def compile_page(form: ResolvedForm, render: Callable[[ResolvedForm, Markup, list[Markup]], str]) -> Parts:
    """``render(form, hidden, fields)`` (the Jinja path) with marks for the page's texts."""
    marked = dataclasses.replace(
        form, title=MARKS[TITLE], submit_label=MARKS[SUBMIT],
        description=MARKS[DESCRIPTION] if form.description else form.description,
    )
    return cut(render(marked, escape(MARKS[HIDDEN]), [escape(MARKS[FIELDS])]))  # marks need no escaping


def page_texts(form: ResolvedForm, tr: Callable[[str], str]) -> dict[int, str]:
    return {TITLE: escape(form.title), DESCRIPTION: escape(form.description or ""),
            SUBMIT: escape(tr(form.submit_label))}


def cut(html: str) -> Parts:
    pieces = _CUT.split(str(html))
    return tuple(_SLOT_OF[p] if i % 2 else p for i, p in enumerate(pieces))


def fill(parts: Parts, texts: Any) -> str:
    """``parts`` with each slot replaced by ``texts[slot]`` (escaped already)."""
    return "".join([texts[p] if p.__class__ is int else p for p in parts])  # type: ignore[index]


def parts_bytes(key: Any, parts: Parts) -> int:
    return text_bytes(parts) + 8 * len(parts) + text_bytes(key) + getsizeof(key) + 400
