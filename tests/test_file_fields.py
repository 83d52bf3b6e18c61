"""The file field in the schema format: what ``accept``, ``maxSize`` and
``maxFiles`` take, in Python providers, declared forms and ad-hoc schemas."""

from __future__ import annotations

import pytest

from forms.errors import SchemaError
from forms.files import display_name, type_problem
from forms.schema import load_schema
from forms.spec import FileCaps


def field(**extra):
    return {"fields": [{"name": "shot", "type": "file", **extra}]}


@pytest.mark.parametrize(("given", "loaded"), [
    (["image/png", ".LOG"], ("image/png", ".log")),
    ("image/*, .log,text/plain", ("image/*", ".log", "text/plain")),
    (["image/jpg"], ("image/jpeg",)),  # one type, one name
    (None, None),
])
def test_accept_takes_a_list_or_htmls_string(given, loaded):
    spec = load_schema("p", field(accept=given)).fields[0]
    assert spec.accept == loaded and spec.max_files == 1 and spec.max_size is None


@pytest.mark.parametrize(("extra", "where", "problem"), [
    ({"accept": ["png"]}, "accept", "'png' is neither a MIME type (image/png, image/*) nor an extension (.log)."),
    ({"accept": ""}, "accept", "must name 1 to 50 MIME types or extensions."),
    ({"accept": [1]}, "accept", "must be a list of MIME types and extensions, or a comma-separated string of them."),
    ({"maxSize": 0}, "maxSize", "Must be greater than or equal to 1."),
    ({"maxFiles": 101}, "maxFiles", "Must be greater than or equal to 1 and less than or equal to 100."),
    ({"defaultValue": "x"}, "defaultValue", "not allowed for type 'file'."),
    ({"saveToProfile": True}, "saveToProfile", "not allowed for type 'file': files never go to a profile."),
    ({"maxLength": 3}, "maxLength", "not allowed for type 'file'."),
])
def test_schema_errors_name_the_field_and_the_problem(extra, where, problem):
    with pytest.raises(SchemaError) as err:
        load_schema("p", field(**extra))
    assert err.value.problems == {f"field 'shot'.{where}": [problem]}


def test_file_keys_belong_to_file_fields():
    with pytest.raises(SchemaError) as err:
        load_schema("p", {"fields": [{"name": "t", "accept": "image/*", "maxSize": 3}]})
    assert err.value.problems == {"field 't'.accept": ["only for a field of type 'file'."],
                                  "field 't'.maxSize": ["only for a field of type 'file'."]}


def test_the_operators_caps_lower_a_forms_limits():
    caps = FileCaps(max_size=1000, max_files=2)
    spec = load_schema("p", field(maxSize=5000, maxFiles=3), caps).fields[0]
    assert (spec.max_size, spec.max_files) == (1000, 2)
    spec = load_schema("p", field(maxSize=10), caps).fields[0]
    assert (spec.max_size, spec.max_files) == (10, 1)


def test_a_declared_form_takes_a_file_field(make_app, tmp_path):
    config = tmp_path / "forms.yaml"
    config.write_text("forms:\n  report:\n    fields:\n      - {name: shot, type: file, accept: 'image/*', "
                      "maxSize: 5000000, required: true}\n")
    client = make_app(PREFILL_CONFIG=str(config)).test_client()
    (shot,) = client.get("/api/forms/report").json["fields"]
    assert (shot["type"], shot["accept"], shot["maxSize"], shot["maxFiles"], shot["required"]) == (
        "file", ["image/*"], 5_000_000, 1, True)
    r = client.post("/api/forms/report/submissions", json={"values": {}})
    assert r.json["error"]["fields"] == {"shot": ["This field is required."]}


def test_an_adhoc_schema_takes_a_file_field(make_app):
    client = make_app(ADHOC_FORMS=True).test_client()
    r = client.post("/api/forms/resolve", json=field(accept="image/png", maxFiles=2))
    assert r.status_code == 200 and r.json["fields"][0]["maxFiles"] == 2
    r = client.post("/api/forms/resolve", json=field(accept="png"))
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_schema"


def test_the_builtin_support_ticket_takes_a_screenshot(make_app):
    fields = {f["name"]: f for f in make_app().test_client().get("/api/forms/support_ticket").json["fields"]}
    shot = fields["screenshot"]
    assert shot["type"] == "file" and not shot["required"] and shot["maxSize"] == 5 * 1024 * 1024
    assert shot["accept"] == ["image/png", "image/jpeg", "image/gif", "image/webp"]


@pytest.mark.parametrize(("detected", "declared", "name", "accept", "refused"), [
    ("text/plain", "text/csv", "a.csv", None, False),  # a text claim fits plain text
    ("text/html", "", "a.txt", None, True),
    ("image/png", "image/x-png", "a.PNG", ("image/*",), False),
    ("image/png", "", "noext", (".png",), False),  # an extension entry without a name's extension: by content
    ("application/zip", "", "a.pdf", None, True),
])
def test_type_rules(detected, declared, name, accept, refused):
    assert (type_problem(detected, declared, name, accept) is not None) == refused


def test_display_names():
    assert display_name("C:\\Users\\ann\\shot.png") == "shot.png"
    assert display_name("\u202e\u200bx.png") == "x.png"
    assert display_name(None) == display_name("../") == "file"
