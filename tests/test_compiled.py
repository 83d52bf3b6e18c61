"""The compiled paths give exactly what the full paths give.

- A page filled from compiled field and page HTML (web.render.compiled) is byte for
  byte the page WTForms and Jinja render, for random schemas and identities
  full of hostile strings, in every language, theme and embed mode.
- A schema refilled from a known shape (forms.shape) equals the one marshmallow
  validates from the same output, down to the type of every value.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from forms.engine import Engine
from forms.identity import Identity
from forms.resolve import resolve
from forms.schema import FIELD_TYPES, load_schema
from forms.shape import split
from schema_providers.registry import Registry
from web.render import compiled
from web.render.pages import page_halves, render_form

HOSTILE = ["", " ", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b &amp; c", "'single'",
           "{{userMetadata.name}}", "{{ userId }}", "line\r\nbreak", "tab\tnul\x00", "ümlaut – 漢字 🙂",
           "</textarea><b>", "&#34;", "%(count)s", "Choose…", "Submit", compiled.MARKS[0][:10]]
TEXT = st.sampled_from(HOSTILE) | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
NAMES = ["email", "name", "company", "subject", "message", "qty", "when", "choice", "agree", "site", "phone",
         "password", "authToken"]
ACCEPT = ["image/png", "image/jpeg", "image/*", "text/plain", ".log", ".PDF", "application/x-unknown", "video/*"]
NUMBER = st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False, width=32)


@st.composite
def outputs(draw):
    """A valid provider output, as providers write them."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7, unique=True))
    fields = []
    for name in names:
        ftype = draw(st.sampled_from(FIELD_TYPES))
        field = {"name": name, "type": ftype}
        for key in ("label", "placeholder", "help"):
            if draw(st.booleans()):
                field[key] = draw(st.none() | TEXT)
        if ftype in ("select", "radio", "checkboxes"):
            values = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=4, unique=True))
            field["options"] = [{"label": draw(TEXT), "value": v} for v in values]
        if ftype == "file":
            if draw(st.booleans()):
                field["accept"] = draw(st.lists(st.sampled_from(ACCEPT), min_size=1, max_size=3, unique=True))
            for key, sizes in (("maxSize", st.integers(1, 10**10)), ("maxFiles", st.integers(1, 5))):
                if draw(st.booleans()):
                    field[key] = draw(sizes)
        elif ftype != "checkboxes" and draw(st.integers(0, 2)) == 0:  # checkboxes: a list default, no shape
            field["defaultValue"] = draw(st.none() | TEXT | NUMBER | st.booleans())
        for key in ("required", "disabled", "lockKnown"):
            if draw(st.integers(0, 3)) == 0:
                field[key] = draw(st.booleans())
        if ftype in ("text", "textarea", "email") and draw(st.booleans()):
            field["maxLength"] = draw(st.integers(1, 300))
        if ftype == "number" and draw(st.booleans()):
            field["min"], field["max"] = draw(NUMBER), draw(NUMBER)
        if ftype == "date" and draw(st.booleans()):
            field["min"] = "2020-01-01"
        if ftype == "text" and draw(st.booleans()):
            field["pattern"], field["patternMessage"] = "[A-Z]{2,5}", draw(TEXT)
        fields.append(field)
    out = {"fields": fields, "lockKnown": draw(st.booleans())}
    for key in ("title", "description", "submitLabel"):
        if draw(st.booleans()):
            out[key] = draw(st.none() | TEXT)
    return out


def value_for(draw, name):
    return draw(TEXT | NUMBER | st.booleans() | st.sampled_from(["a@example.com", "x", "2024-02-30", "12"]))


@st.composite
def identities(draw):
    claimed = {name: value_for(draw, name) for name in draw(st.lists(st.sampled_from(NAMES), max_size=7))}
    trusted = {name: value_for(draw, name) for name in draw(st.lists(st.sampled_from(NAMES), max_size=3))}
    return Identity.build(user_id=draw(st.none() | TEXT), visitor_id="v_x", verified=draw(st.booleans()),
                          claimed=claimed, trusted=trusted, session_metadata={"page": draw(TEXT)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=outputs(), users=st.lists(identities(), min_size=2, max_size=3), embed=st.booleans(),
       lang=st.sampled_from(["en", "de", "fr", "es"]), theme=st.sampled_from(["", "&theme=dark&accent=%23aa0011"]))
def test_a_compiled_page_is_the_wtforms_page(app, raw, users, embed, lang, theme):
    """The same form for several users: the later ones are filled from what the
    first compiled wherever their fields' shapes meet (other values, choices, locks)."""
    st_ = app.extensions["prefill"]
    schema = load_schema("support_ticket", raw)
    hidden = Markup('<input type="hidden" name="csrf_token" value="c">')
    for identity in users:
        form = resolve("support_ticket", schema, identity, st_.sensitive, "Support")
        with app.test_request_context(f"/forms/support_ticket?embed={int(embed)}{theme}",
                                      headers={"Accept-Language": lang}):
            head, tail = page_halves(form, embed)
            full = render_form(form, hidden, embed)
        assert "".join((head, hidden, tail)) == full


@pytest.mark.parametrize(("ftype", "values"), [
    ("select", ["a", "b", None]), ("radio", ["b", None, "a"]), ("checkbox", [True, False]),
    ("number", [1, 1.0, -0.0, 0.0, 2.5]), ("text", ["x", "<b>", None, ""]), ("textarea", ["\r\nx", "y"]),
    ("file", [None]),
])
@pytest.mark.parametrize("locked", [False, True])
def test_one_field_shape_with_other_values(app, ftype, values, locked):
    options = [{"label": "A <1>", "value": "a"}, {"label": "B", "value": "b"}] if ftype in ("select", "radio") else None
    hidden = Markup("")
    for value in values:
        field = {"name": "f", "type": ftype, "defaultValue": value, "disabled": locked}
        if ftype == "file":  # no default; its limits instead
            field = {"name": "f", "type": ftype, "disabled": locked, "accept": "image/*,.log", "maxFiles": 2}
        if options:
            field["options"] = options
        form = resolve("t", load_schema("t", {"fields": [field]}), Identity(), app.extensions["prefill"].sensitive)
        with app.test_request_context("/forms/t"):
            assert "".join(page_halves(form, False)) == render_form(form, hidden, False)


@settings(max_examples=200, deadline=None)
@given(raw=outputs(), texts=st.data())
def test_a_refilled_schema_is_the_validated_schema(raw, texts):
    engine = Engine(Registry(), None)  # type: ignore[arg-type]
    engine.schema_for("f", raw)
    # The same shape, other texts of the same JSON types: the shape's schema refilled.
    other = json.loads(json.dumps(raw))
    for item in [other, *other["fields"]]:
        for key in ("label", "placeholder", "help", "defaultValue", "title", "description", "submitLabel"):
            if isinstance(item.get(key), str):
                item[key] = texts.draw(TEXT)
            elif isinstance(item.get(key), float):
                item[key] = texts.draw(st.floats(allow_nan=False, allow_infinity=False))
    assert split(other)[0] == split(raw)[0]
    _, refilled = engine.schema_for("f", other)
    expected = load_schema("f", other)
    assert refilled == expected
    assert repr(refilled) == repr(expected)  # 1 and 1.0, 0.0 and -0.0 too


def test_texts_equal_in_python_but_not_in_html_are_refilled():
    engine = Engine(Registry(), None)  # type: ignore[arg-type]
    engine.schema_for("f", {"fields": [{"name": "a", "type": "number", "defaultValue": 0.0}]})
    assert repr(engine.schema_for("f", {"fields": [{"name": "a", "type": "number", "defaultValue": -0.0}]})[1]
                .fields[0].default) == "-0.0"


def test_a_new_text_type_is_a_new_shape_and_is_validated():
    engine = Engine(Registry(), None)  # type: ignore[arg-type]
    good = {"fields": [{"name": "a", "label": "A", "defaultValue": "x"}]}
    engine.schema_for("f", good)
    again = {"fields": [{"name": "a", "label": "B", "defaultValue": 2}]}
    assert engine.schema_for("f", again)[1].fields[0].default == 2
    from forms.errors import SchemaError

    for bad in ({"fields": [{"name": "a", "label": 3}]}, {"fields": [{"name": "a", "defaultValue": {"x": 1}}]},
                {"fields": [{"name": "a", "label": "A", "defaultValue": "x", "extra": 1}]}):
        with pytest.raises(SchemaError):
            engine.schema_for("f", bad)
