"""The pure engine: schema validation, templates, exact-key prefill, locking, secrets."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from forms import Engine, Identity, SensitiveKeys, load_schema, resolve
from forms.errors import ProviderFailed, SchemaError, UnknownForm
from forms.schema import humanize
from schema_providers import Registry, provider
from schema_providers.builtin import support_ticket

SENSITIVE = SensitiveKeys()


def ident(metadata: dict | None = None, trusted: dict | None = None, session: dict | None = None,
          user_id: str | None = "u1", verified: bool = True) -> Identity:
    return Identity.build(user_id=user_id, visitor_id="v_1700000000000_abcdefghi", verified=verified,
                          claimed=metadata or {}, trusted=trusted or {}, session_metadata=session or {})


def form_of(fields: list[dict], identity: Identity, **top: Any):
    return resolve("f", load_schema("f", {"fields": fields, **top}), identity, SENSITIVE)


# -- exact-key prefill -------------------------------------------------------
def test_prefill_exact_key_only():
    f = form_of([{"name": "email"}, {"name": "user_email"}, {"name": "Email"}],
                ident({"email": "a@b.co"}))
    values = {x.name: x.value for x in f.fields}
    assert values == {"email": "a@b.co", "user_email": None, "Email": None}
    assert [x.prefilled for x in f.fields] == [True, False, False]


@pytest.mark.parametrize("ftype,meta,expected", [
    ("text", "x", "x"), ("text", 42, "42"), ("text", True, None), ("text", {"a": 1}, None),
    ("text", [1], None), ("email", "a@b.co", "a@b.co"), ("date", "2024-01-02", "2024-01-02"),
    ("checkbox", True, True), ("checkbox", "true", None), ("checkbox", 1, None),
    ("number", 5, 5), ("number", "7", 7), ("number", "2.5", 2.5), ("number", "abc", None),
    ("number", True, None), ("select", "2", "2"), ("select", 2, "2"), ("select", "3", None),
    ("select", True, None), ("radio", "b", "b"), ("hidden", "h", "h"), ("tel", 123456, "123456"),
])
def test_prefill_value_must_fit_type(ftype, meta, expected):
    field: dict[str, Any] = {"name": "x", "type": ftype}
    if ftype in ("select", "radio"):
        field["options"] = [{"label": o, "value": o} for o in (["1", "2"] if ftype == "select" else ["a", "b"])]
    f = form_of([field], ident({"x": meta}))
    assert f.fields[0].value == expected
    assert f.fields[0].prefilled is (expected is not None)


def test_explicit_default_wins_over_metadata_and_null_default_does_not():
    f = form_of([{"name": "a", "defaultValue": "given"}, {"name": "b", "defaultValue": None}],
                ident({"a": "meta", "b": "meta-b"}))
    assert (f.fields[0].value, f.fields[0].prefilled) == ("given", False)
    assert (f.fields[1].value, f.fields[1].prefilled) == ("meta-b", True)


def test_sensitive_key_never_prefills():
    f = form_of([{"name": "authToken"}, {"name": "password"}, {"name": "author"}],
                ident({"authToken": "tok-12345", "password": "pw-12345", "author": "Ann"}))
    assert [x.value for x in f.fields] == [None, None, None]  # 'author' contains 'auth'


def test_allow_list_exempts_exact_names_case_insensitively():
    keys = SensitiveKeys(allow=["Author"])
    f = resolve("f", load_schema("f", {"fields": [{"name": "author"}]}), ident({"author": "Ann"}), keys)
    assert f.fields[0].value == "Ann"


def test_extra_patterns_and_deep_scrub():
    keys = SensitiveKeys(extra=["ssn"])
    data = {"a": {"b": [{"userSSN": "1", "ok": 2, "refresh_token": "x"}]}, "apiKey": "k", "Private_note": "p"}
    assert keys.scrub(data) == {"a": {"b": [{"ok": 2}]}}


# -- locking -----------------------------------------------------------------
def test_lock_known_form_and_field_override():
    f = form_of([{"name": "a"}, {"name": "b", "lockKnown": False}, {"name": "c"}, {"name": "d", "disabled": True}],
                ident({"a": "1", "b": "2"}), lockKnown=True)
    assert [x.disabled for x in f.fields] == [True, False, False, True]


def test_templated_value_does_not_lock():
    f = form_of([{"name": "a", "defaultValue": "{{userMetadata.a}}", "lockKnown": True}], ident({"a": "x"}))
    assert f.fields[0].value == "x" and not f.fields[0].disabled and not f.fields[0].prefilled


# -- templates ---------------------------------------------------------------
def test_templates_roots_nesting_missing_and_foreign():
    identity = ident({"name": "Ann", "account": {"plan": "pro"}, "tags": ["a"]}, session={"page": "/p"})
    registry = Registry()
    from tests import providers_fixture

    registry.load_module(providers_fixture)
    f = Engine(registry, SENSITIVE).resolve("templated", {}, identity)
    assert f.title == "Hello Ann"
    assert f.description == "Plan pro / /p / {{other.x}}"
    assert f.fields[0].value == "Hi Ann (u1, v_1700000000000_abcdefghi)"
    assert f.fields[1].value == "[][][]"  # objects, arrays and missing values render empty
    assert f.fields[2].label == "Your name, Ann"
    assert f.fields[3].options[0].label == "Me: Ann"


def test_template_values_are_inserted_once():
    f = form_of([{"name": "g", "defaultValue": "{{userMetadata.name}}"}],
                ident({"name": "{{userId}} {{userMetadata.secret}}"}))
    assert f.fields[0].value == "{{userId}} {{userMetadata.secret}}"


def test_templates_never_reach_sensitive_values():
    f = form_of([{"name": "g", "defaultValue": "[{{userMetadata.apiKey}}][{{sessionMetadata.auth.x}}]"}],
                ident({"apiKey": "k-123456"}, session={"auth": {"x": "s-123456"}}))
    assert f.fields[0].value == "[][]"


def test_copied_secret_is_blanked_and_logged_without_value(caplog):
    registry = Registry()
    from tests import providers_fixture

    registry.load_module(providers_fixture)
    with caplog.at_level(logging.WARNING, logger="prefill.engine"):
        f = Engine(registry, SENSITIVE).resolve("leaky", {}, ident({"authToken": "tok-SECRET-999"}))
    assert f.fields[0].value == "" and f.fields[1].label == "" and f.fields[2].value == "ok"
    assert "note" in caplog.text and "leaky" in caplog.text
    assert "tok-SECRET-999" not in caplog.text


# -- schema validation -------------------------------------------------------
@pytest.mark.parametrize("schema,where,problem", [
    ({}, "fields", "Missing data"),
    ({"fields": []}, "fields", "Length"),
    ({"fields": [{"name": "x"}], "extra": 1}, "extra", "Unknown field"),
    ({"fields": [{"name": "1x"}]}, "fields[0].name", "String does not match"),
    ({"fields": [{"name": "x", "type": "color"}]}, "field 'x'.type", "Must be one of"),
    ({"fields": [{"name": "x", "type": "select"}]}, "field 'x'.options", "required and non-empty"),
    ({"fields": [{"name": "x", "options": [{"label": "a", "value": "a"}]}]}, "field 'x'.options", "not allowed"),
    ({"fields": [{"name": "x", "type": "select", "options": [{"label": "a", "value": 1}]}]},
     "field 'x'.options.0.value", "Not a valid string"),
    ({"fields": [{"name": "x"}, {"name": "x"}]}, "field 'x'.name", "duplicate"),
    ({"fields": [{"name": "x", "pattern": "("}]}, "field 'x'.pattern", "not a valid regular expression"),
    ({"fields": [{"name": "x", "type": "date", "min": "tomorrow"}]}, "field 'x'.min", "ISO date"),
    ({"fields": [{"name": "x", "type": "number", "max": "10"}]}, "field 'x'.max", "must be a number"),
    ({"fields": [{"name": "x", "defaultValue": {"a": 1}}]}, "field 'x'.defaultValue", "string, number"),
    ({"fields": [{"name": "x", "bogus": True}]}, "field 'x'.bogus", "Unknown field"),
    ({"fields": [{"name": "csrf_token"}]}, "field 'csrf_token'.name", "reserved"),
    ({"fields": [{"name": "x", "minLength": 5, "maxLength": 2}]}, "field 'x'.minLength", "exceed"),
    ("not a dict", "schema", "must be a dict"),
])
def test_invalid_schema_names_provider_field_and_problem(schema, where, problem):
    with pytest.raises(SchemaError) as exc:
        load_schema("my_provider", schema)
    assert "my_provider" in exc.value.message
    assert where in exc.value.message and problem in exc.value.message


def test_schema_errors_never_echo_values():
    with pytest.raises(SchemaError) as exc:
        load_schema("p", {"fields": [{"name": "x", "type": "sekrit-type-value", "label": 5}]})
    assert "sekrit-type-value" not in exc.value.message


@pytest.mark.parametrize("name,label", [("company_name", "Company name"), ("companyName", "Company name"),
                                         ("email", "Email"), ("orderID2", "Order id2")])
def test_default_label_humanizes_name(name, label):
    assert humanize(name) == label


# -- registry ----------------------------------------------------------------
def test_registry_unknown_form_names_what_exists():
    registry = Registry()
    registry.add("support_ticket", support_ticket)
    registry.add("refund", lambda a, u: {"fields": [{"name": "x"}]})
    with pytest.raises(UnknownForm) as exc:
        registry.get("x")
    assert exc.value.message == "unknown form 'x'; registered: refund, support_ticket"


def test_registry_duplicate_names_both_places():
    registry = Registry()

    @provider("dup")
    def first(args, user):
        return {}

    @provider("dup")
    def second(args, user):
        return {}

    registry.add("dup", first)
    with pytest.raises(ValueError) as exc:
        registry.add("dup", second)
    assert "first" in str(exc.value) and "second" in str(exc.value)


@pytest.mark.parametrize("bad", ["", "  ", None, "a/b"])
def test_provider_name_must_be_sensible(bad):
    with pytest.raises(ValueError):
        provider(bad)


def test_registries_are_per_app_not_global():
    one, two = Registry(), Registry()
    one.add("only_here", lambda a, u: {"fields": [{"name": "x"}]})
    assert "only_here" in one and "only_here" not in two


def test_provider_exception_becomes_provider_failed():
    registry = Registry()
    registry.add("boom", lambda a, u: 1 / 0)
    with pytest.raises(ProviderFailed):
        Engine(registry, SENSITIVE).resolve("boom", {}, ident())


def test_async_provider_and_user_is_read_only():
    registry = Registry()
    from tests import providers_fixture

    registry.load_module(providers_fixture)
    engine = Engine(registry, SENSITIVE)
    assert engine.resolve("async_form", {}, ident()).fields[0].value == "u1"
    identity = ident({"nested": {"a": 1}})
    with pytest.raises(TypeError):
        identity.metadata["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        identity.metadata["nested"]["a"] = 2  # type: ignore[index]


# -- the built-in support_ticket -------------------------------------------
def _priorities(form) -> list[str]:
    return [o.value for o in form.field("priority").options]


def test_support_ticket_priorities_come_from_trusted_plan_only():
    schema = load_schema("support_ticket", support_ticket({}, ident({"plan": "enterprise"})))
    priority = next(i for i, f in enumerate(schema.fields) if f.name == "priority")
    assert [o.value for o in schema.fields[priority].options] == ["high", "normal", "low"]
    trusted = ident({"plan": "free"}, trusted={"plan": "enterprise"})
    schema = load_schema("support_ticket", support_ticket({}, trusted))
    assert [o.value for o in schema.fields[priority].options] == ["critical", "high", "normal"]


def test_support_ticket_email_locked_when_known_subject_from_args():
    registry = Registry()
    registry.load_module("schema_providers.builtin")
    engine = Engine(registry, SENSITIVE)
    f = engine.resolve("support_ticket", {"subject": "Broken"}, ident({"email": "a@b.co", "name": "Ann"}))
    email = f.field("email")
    assert (email.value, email.disabled) == ("a@b.co", True)
    assert f.field("subject").value == "Broken"
    assert (f.field("name").value, f.field("name").disabled) == ("Ann", False)
    anon = engine.resolve("support_ticket", {}, Identity())
    assert (anon.field("email").value, anon.field("email").disabled) == (None, False)


def test_engine_memoises_validation_and_resolution():
    calls = []
    registry = Registry()

    def prov(args, user):
        calls.append(1)
        return {"fields": [{"name": "email"}]}

    registry.add("p", prov)
    engine = Engine(registry, SENSITIVE)
    identity = Identity.build(user_id="u", claimed={"email": "a@b.co"}, cache_key=("k",))
    first = engine.resolve("p", {}, identity)
    assert engine.resolve("p", {}, identity) is first  # same output + same identity: nothing rebuilt
    assert len(calls) == 2  # but the provider is always asked
    other = Identity.build(user_id="u", claimed={"email": "z@b.co"}, cache_key=("k2",))
    assert engine.resolve("p", {}, other).fields[0].value == "z@b.co"


@pytest.mark.parametrize("metadata,session", [
    ({}, {}),
    ({"email": "a@b.co", "name": "Ann", "subject": "from meta", "priority": "high", "message": 5}, {}),
    ({"authToken": "tok-999999", "note": "x"}, {"apiKey": "Help"}),  # a secret equal to a static string
    ({"text": "abc", "select": 2, "checkbox": True, "number": "7", "hidden": "h"}, {"page": "/p"}),
])
@pytest.mark.parametrize("form", ["support_ticket", "all_types", "templated", "leaky", "refund"])
def test_precomputed_static_fields_resolve_like_the_full_path(monkeypatch, form, metadata, session):
    """The fast path for identity-independent fields must never change a result."""
    import sys

    resolve_module = sys.modules["forms.resolve"]  # the module, not the function forms exports

    registry = Registry()
    registry.load_module("schema_providers.builtin")
    from tests import providers_fixture

    registry.load_module(providers_fixture)
    identity = ident(metadata, trusted={"plan": "enterprise"}, session=session)
    raw = registry.get(form).fn({"subject": "Help"}, identity)
    fast = resolve(form, load_schema(form, raw), identity, SENSITIVE)
    monkeypatch.setattr(resolve_module, "_statics", lambda schema: (None,) * len(schema.fields))
    slow = resolve(form, load_schema(form, raw), identity, SENSITIVE)
    assert fast.fields == slow.fields and fast.to_json() == slow.to_json()


@pytest.mark.parametrize(("pattern", "fragment"), [
    ("[A-Z0-9-]{3,20}", "'-'"), ("[a|b]", "'|'"), ("[(]", "'('"), ("a{", "'{'"), ("(?P<x>a)", "(?<name>"),
])
def test_patterns_browsers_would_ignore_are_schema_errors(pattern, fragment):
    with pytest.raises(SchemaError) as exc:
        load_schema("refundish", {"fields": [{"name": "code", "pattern": pattern}]})
    message = str(exc.value)
    assert "provider 'refundish'" in message and "field 'code'" in message and fragment in message
    assert "would be ignored by browsers" in message
