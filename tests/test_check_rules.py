"""`prefill check` on rules: a rule error names the provider and the field; a
rule that can never be true for the values its fields can take, and
saveToProfile on a sensitive key, are warnings with a kind."""

from __future__ import annotations

import pytest

from forms.lint import NEVER_TRUE, SENSITIVE_PROFILE, lint, values_of
from forms.rules import apply, truthy
from forms.schema import load_schema
from forms.sensitive import SensitiveKeys
from tests.providers_lint import secret_profile, typo_rules


def check(make_app, *modules, **config):
    app = make_app(PREFILL_PROVIDER_MODULES=list(modules), PREFILL_BUILTIN_FORMS=False, **config)
    return app.test_cli_runner().invoke(args=["prefill", "check"])


def test_rules_that_can_never_be_true_are_warnings_with_a_kind(make_app):
    result = check(make_app, "tests.providers_lint")
    lines = result.output.splitlines()
    assert ('WARN  typo_rules [anonymous] field \'invoice\' (never_true): visibleIf {"==": [{"var": "category"}, '
            '"bilind"]} can never be true: category is null or one of "billing", "bug"') in lines
    assert ('WARN  typo_rules [anonymous] field \'steps\' (never_true): visibleIf {"in": ["x", {"var": "tags"}]} '
            'can never be true: tags is null or a list of "urgent", "question"') in lines
    assert ('WARN  typo_rules [anonymous] field \'refund\' (never_true): part of requiredIf, {"===": [{"var": '
            '"category"}, "Bug"]}, can never be true: category is null or one of "billing", "bug"') in lines
    assert "field 'amount'" not in result.output  # {"var": "box"} on a checkbox is fine
    assert sum("typo_rules" in line for line in lines) == 3  # once, not once per sample identity


def test_save_to_profile_on_a_sensitive_key_is_a_warning(make_app):
    result = check(make_app, "tests.providers_lint")
    assert ("WARN  secret_profile [anonymous] field 'apiToken' (sensitive_save_to_profile): saveToProfile is "
            "ignored: 'apiToken' is a sensitive key, never written to a profile") in result.output
    assert "field 'company'" not in result.output
    extra = check(make_app, "tests.providers_lint", SENSITIVE_KEYS_EXTRA="company")
    assert "secret_profile [anonymous] field 'company' (sensitive_save_to_profile)" in extra.output


def test_a_rule_error_names_the_provider_and_the_field_and_fails_check(make_app):
    result = check(make_app, "tests.providers_lint")
    assert result.exit_code == 1
    assert ("ERROR bad_rule [anonymous]: invalid_schema: provider 'bad_rule' returned an invalid schema: "
            "field 'invoice'.visibleIf: var reads unknown field 'categroy'") in result.output
    assert result.output.count("ERROR bad_rule") == 1
    assert result.output.rstrip().endswith("1 errors, 4 warnings")


def test_the_conditional_forms_and_the_built_in_ones_check_clean(make_app):
    app = make_app(PREFILL_PROVIDER_MODULES=["tests.providers_conditional"], PREFILL_BUILTIN_FORMS=True)
    result = app.test_cli_runner().invoke(args=["prefill", "check"])
    assert result.exit_code == 0 and "WARN" not in result.output, result.output
    assert "0 errors, 0 warnings" in result.output


def schema(p):
    return load_schema(p.name, p.fn({}, None))


def test_lint_kinds_and_fields():
    found = [(w.field, w.kind) for w in lint(schema(typo_rules), SensitiveKeys())]
    assert found == [("invoice", NEVER_TRUE), ("steps", NEVER_TRUE), ("refund", NEVER_TRUE)]
    found = [(w.field, w.kind) for w in lint(schema(secret_profile), SensitiveKeys())]
    assert found == [("apiToken", SENSITIVE_PROFILE)]


@pytest.mark.parametrize("field, expected", [
    ({"name": "f", "type": "checkbox"}, [None, True, False]),
    ({"name": "f", "type": "radio", "options": [{"label": "A", "value": "a"}]}, [None, "a"]),
    ({"name": "f", "type": "checkboxes", "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
     [None, ["a"], ["b"], ["a", "b"], ["b", "a"]]),  # in the order chosen
    ({"name": "f", "type": "select", "multiple": True, "maxItems": 1,
      "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]}, [None, ["a"], ["b"]]),
    ({"name": "f", "type": "text"}, None),
    ({"name": "f", "type": "number"}, None),
    ({"name": "f", "type": "select", "options": [{"label": "A", "value": "{{userId}}"}]}, None),
    ({"name": "f", "type": "checkboxes", "options": [{"label": str(i), "value": str(i)} for i in range(9)]}, None),
])
def test_the_values_a_rule_can_see(field, expected):
    got = values_of(load_schema("t", {"fields": [field]}).fields[0])
    assert (None if got is None else list(got)) == expected


def test_a_rule_that_can_be_true_is_never_reported():
    """Sound: for each rule the lint calls impossible, no value tried makes it true,
    and one a value can make true is not reported."""
    options = [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]
    possible = [{"==": [{"var": "c"}, "a"]}, {"!": {"var": "c"}}, {"in": ["a", {"var": "m"}]},
                {"==": [{"var": "m.1"}, "a"]}, {"missing": ["c"]}, {"==": [{"var": "c"}, None]},
                {"and": [{"var": "box"}, {"!=": [{"var": "c"}, "zzz"]}]}, {"in": [{"var": "c"}, "xa"]}]
    impossible = [{"==": [{"var": "c"}, "A"]}, {"in": ["z", {"var": "m"}]}, {"===": [{"var": "box"}, "true"]},
                  {"and": [{"var": "c"}, {"!": {"var": "c"}}]}, {"==": [{"var": "m.2"}, "a"]}]
    fields = [{"name": "c", "type": "select", "options": options},
              {"name": "m", "type": "checkboxes", "options": options}, {"name": "box", "type": "checkbox"}]
    for i, rule in enumerate(possible + impossible):
        fields.append({"name": f"r{i}", "visibleIf": rule})
    loaded = load_schema("t", {"fields": fields})
    reported = {w.field for w in lint(loaded, SensitiveKeys())}
    assert reported == {f"r{i}" for i in range(len(possible), len(possible) + len(impossible))}
    domains = {s.name: values_of(s) for s in loaded.fields[:3]}
    for rule in impossible:
        assert not any(truthy(apply(rule, {"c": c, "m": m, "box": b}))
                       for c in domains["c"] for m in domains["m"] for b in domains["box"])

