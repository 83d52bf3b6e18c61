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


POOL = ["a", "b", "x", "12"]  # option values that metadata also holds, so multi-selects prefill
OPTION_VALUE = st.sampled_from(POOL) | TEXT.filter(bool)
LITERAL = st.none() | st.booleans() | NUMBER | TEXT | st.sampled_from(POOL)


@st.composite
def rules(draw, earlier):
    """A JSON Logic rule over ``earlier`` fields only (so never a circle), with
    hostile literals: what the page renders as JSON in its data attributes."""
    name = draw(st.sampled_from(earlier))
    var = {"var": name}
    leaf = draw(st.sampled_from(["==", "!=", "in", "!", "!!", "missing", ">", "===", "if"]))
    if leaf in ("!", "!!"):
        rule = {leaf: [var]}
    elif leaf == "missing":
        rule = {"missing": [name]}
    elif leaf == "in":
        rule = {"in": [draw(LITERAL), var]}
    elif leaf == "if":
        rule = {"if": [var, draw(LITERAL), draw(LITERAL)]}
    else:
        rule = {leaf: [var, draw(LITERAL)]}
    if draw(st.integers(0, 3)) == 0:
        rule = {draw(st.sampled_from(["and", "or"])): [rule, draw(rules(earlier))]}
    return rule


@st.composite
def outputs(draw):
    """A valid provider output, as providers write them: with multi-selects,
    rules that name earlier fields, and fields known and not asked."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7, unique=True))
    fields = []
    for index, name in enumerate(names):
        ftype = draw(st.sampled_from(FIELD_TYPES))
        field = {"name": name, "type": ftype}
        multi = ftype == "checkboxes" or (ftype == "select" and draw(st.booleans()))
        if ftype == "select" and multi:
            field["multiple"] = True
        for key in ("label", "placeholder", "help"):
            if draw(st.booleans()):
                field[key] = draw(st.none() | TEXT)
        if ftype in ("select", "radio", "checkboxes"):
            values = draw(st.lists(OPTION_VALUE, min_size=1, max_size=4, unique=True))
            field["options"] = [{"label": draw(TEXT), "value": v} for v in values]
            if index and draw(st.integers(0, 3)) == 0:
                field["options"][0]["visibleIf"] = draw(rules(names[:index]))
        if ftype == "file":
            if draw(st.booleans()):
                field["accept"] = draw(st.lists(st.sampled_from(ACCEPT), min_size=1, max_size=3, unique=True))
            for key, sizes in (("maxSize", st.integers(1, 10**10)), ("maxFiles", st.integers(1, 5))):
                if draw(st.booleans()):
                    field[key] = draw(sizes)
        elif multi:
            if draw(st.integers(0, 2)) == 0:
                field["defaultValue"] = draw(st.none() | st.lists(st.sampled_from(values), max_size=2, unique=True))
            if draw(st.booleans()):
                field["minItems"], field["maxItems"] = sorted(draw(st.lists(st.integers(1, 4), min_size=2, max_size=2)))
        elif draw(st.integers(0, 2)) == 0:
            field["defaultValue"] = draw(st.none() | TEXT | NUMBER | st.booleans())
        for key in ("required", "disabled", "lockKnown", "hideKnown"):
            if draw(st.integers(0, 3)) == 0:
                field[key] = draw(st.booleans())
        if index:
            for key in ("visibleIf", "requiredIf"):
                if draw(st.integers(0, 2)) == 0:
                    field[key] = draw(rules(names[:index]))
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
    if draw(st.integers(0, 3)) == 0:  # profile questions: an answered one is known and not asked
        asked = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        out["progressive"] = {"fields": asked, "max": draw(st.integers(1, 3))}
    return out


def value_for(draw, name):
    return draw(TEXT | NUMBER | st.booleans() | st.sampled_from(["a@example.com", "x", "2024-02-30", "12"])
                | st.lists(st.sampled_from(POOL), max_size=3))


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
    ("checkboxes", [["a"], ["b", "a"], None, []]), ("multiple", [["a", "b"], None, ["b"]]),
])
@pytest.mark.parametrize("locked", [False, True])
@pytest.mark.parametrize("rule", [None, {"==": [{"var": "g"}, "<b>\"'&"]}])
def test_one_field_shape_with_other_values(app, ftype, values, locked, rule):
    options = [{"label": "A <1>", "value": "a"}, {"label": "B", "value": "b", "visibleIf": {"!": {"var": "g"}}}]
    hidden = Markup("")
    for value in values:
        field = {"name": "f", "type": "select" if ftype == "multiple" else ftype, "defaultValue": value,
                 "disabled": locked, "visibleIf": rule, "requiredIf": rule}
        if ftype == "file":  # no default; its limits instead
            field = {"name": "f", "type": ftype, "disabled": locked, "accept": "image/*,.log", "maxFiles": 2,
                     "visibleIf": rule, "requiredIf": rule}
        if ftype in ("select", "radio", "checkboxes", "multiple"):
            field.update(options=options, multiple=ftype == "multiple")
        schema = load_schema("t", {"fields": [{"name": "g"}, field]})
        form = resolve("t", schema, Identity(), app.extensions["prefill"].sensitive)
        with app.test_request_context("/forms/t"):
            assert "".join(page_halves(form, False)) == render_form(form, hidden, False)


def test_a_field_known_and_not_asked_is_a_hidden_input_rules_can_read(app):
    """hideKnown with a trusted value: no control to see, its value in hidden
    inputs (one per value of a multi-select) and, for a choice, in data-value."""
    schema = load_schema("t", {"fields": [
        {"name": "plan", "type": "select", "hideKnown": True, "options": [{"label": "Pro", "value": "pro"}]},
        {"name": "seats", "type": "number", "hideKnown": True},
        {"name": "tags", "type": "checkboxes", "hideKnown": True,
         "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
        {"name": "note", "visibleIf": {"==": [{"var": "plan"}, "pro"]}}]})
    for seats in (5, 12):
        identity = Identity.build(user_id="u", trusted={"plan": "pro", "seats": seats, "tags": ["b", "a"]})
        form = resolve("t", schema, identity, app.extensions["prefill"].sensitive)
        with app.test_request_context("/forms/t"):
            page = render_form(form, Markup(""), False)
            assert "".join(page_halves(form, False)) == page
        assert '<div data-field="plan" data-type="select" data-conceal="" data-value="&#34;pro&#34;" hidden>' in page
        assert f'<input id="seats" name="seats" type="hidden" value="{seats}">' in page
        assert ('<input type="hidden" name="tags" value="b"><input type="hidden" name="tags" value="a">' in page)
        assert 'id="plan"' in page and "<select" not in page and 'type="checkbox"' not in page


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
    if split(raw) is None:  # a list default (a multi-select's) is no text: the whole output is validated
        assert split(other) is None
    else:
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


def test_bounds_equal_but_for_their_sign_or_type_render_apart(app):
    """0.0 == -0.0 and 1 == 1.0 as dict keys, yet they render apart: found by the
    property test above (a cached field of max=0.0 was served for max=-0.0)."""


    from web.render.pages import form_json

    hidden = Markup("")
    for bound in (0.0, -0.0, 1, 1.0, 0.0):
        form = resolve("t", load_schema("t", {"fields": [{"name": "n", "type": "number", "max": bound}]}),
                       Identity(), app.extensions["prefill"].sensitive)
        with app.test_request_context("/forms/t"):
            assert "".join(page_halves(form, False)) == render_form(form, hidden, False)
            assert f'max="{bound}"' in render_form(form, hidden, False)
            assert repr(json.loads(form_json(form))["fields"][0]["max"]) == repr(bound)
