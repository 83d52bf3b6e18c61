"""Property tests for the engine (hypothesis): for any metadata — nested,
unicode, huge numbers, keys that differ only by case — and any valid schema,
prefill matches exact keys only, no sensitive value reaches any output, and a
template never evaluates text that came from a user."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.conditions import answers_of, decide
from forms.identity import Identity
from forms.prefill import NOT_FIT, fit
from forms.resolve import resolve
from forms.schema import FIELD_TYPES, load_schema
from forms.sensitive import SensitiveKeys

NAMES = ["email", "name", "company", "plan", "phone", "note", "Email", "NAME", "e_mail", "emailAddress"]
SECRET_MARK = "SeCrEt"  # every planted secret contains it; no generated text can (letters only from this pool)
SAFE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="SCE"),
                    max_size=20)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False) | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SAFE_TEXT, inner, max_size=3),
    max_leaves=8,
)
TEMPLATES = ["{{userMetadata.name}}", "{{ userMetadata.email }}", "{{userId}}", "{{userMetadata.authToken}}",
             "{{userMetadata.nested.password}}", "{{sessionMetadata.page}}", "{{other.x}}", "plain"]


@st.composite
def rules(draw, earlier):
    """A rule over ``earlier`` fields only: never a circle."""
    name = draw(st.sampled_from(earlier))
    op = draw(st.sampled_from(["==", "!=", "in", "!", "missing"]))
    if op == "!":
        return {"!": {"var": name}}
    if op == "missing":
        return {"missing": [name]}
    literal = draw(st.none() | st.booleans() | st.integers(-5, 5) | SAFE_TEXT)
    return {"in": [literal, {"var": name}]} if op == "in" else {op: [{"var": name}, literal]}


@st.composite
def schemas(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    fields = []
    for index, name in enumerate(names):
        ftype = draw(st.sampled_from(FIELD_TYPES))
        field = {"name": name, "type": ftype, "label": draw(st.sampled_from(TEMPLATES)),
                 "help": draw(st.none() | st.sampled_from(TEMPLATES))}
        if ftype in ("select", "radio", "checkboxes"):
            values = draw(st.lists(SAFE_TEXT.filter(bool), min_size=1, max_size=4, unique=True))
            field["options"] = [{"label": draw(st.sampled_from(TEMPLATES)), "value": v} for v in values]
            if index and draw(st.booleans()):
                field["options"][-1]["visibleIf"] = draw(rules(names[:index]))
        if ftype == "select" and draw(st.booleans()):
            field["multiple"] = True
        if draw(st.booleans()):
            field["lockKnown"] = True
        if draw(st.integers(0, 3)) == 0:
            field["hideKnown"] = True
        if index:
            for key in ("visibleIf", "requiredIf"):
                if draw(st.integers(0, 2)) == 0:
                    field[key] = draw(rules(names[:index]))
        if draw(st.integers(0, 4)) == 0 and ftype not in ("select", "radio", "checkbox", "checkboxes", "file"):
            field["defaultValue"] = draw(st.sampled_from(TEMPLATES))
        fields.append(field)
    out = {"fields": fields, "title": draw(st.sampled_from(TEMPLATES))}
    if draw(st.integers(0, 3)) == 0:
        out["progressive"] = {"fields": draw(st.lists(st.sampled_from(names), min_size=1, unique=True)),
                              "max": draw(st.integers(1, 2))}
    return out


@st.composite
def identities(draw):
    claimed = draw(st.dictionaries(st.sampled_from(NAMES) | SAFE_TEXT, json_values, max_size=6))
    # User text that looks like a template must stay literal.
    claimed["name"] = draw(st.sampled_from(["Ann", "{{userMetadata.authToken}}", "{{userId}}", "{{ x }}"]))
    secret = SECRET_MARK + draw(st.text(alphabet="abcdef0123456789", min_size=4, max_size=8))
    claimed["authToken"] = secret
    claimed["nested"] = {"password": secret + "-p", "fine": "ok"}
    claimed[draw(st.sampled_from(["apiKey", "API_KEY", "refreshToken"]))] = secret + "-k"
    # hideKnown: a trusted value is known, and not asked.
    trusted = draw(st.dictionaries(st.sampled_from([n for n in NAMES if n != "name"]), json_values, max_size=3))
    return Identity.build(user_id=draw(st.sampled_from(["u1", "{{userMetadata.authToken}}"])), visitor_id="v_1",
                          claimed=claimed, trusted=trusted,
                          session_metadata={"page": "/x", "sessionToken": secret + "-s"}, cache_key=None), secret


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=schemas(), who=identities())
def test_prefill_is_exact_and_secrets_and_templates_stay_out(raw, who):
    identity, secret = who
    sensitive = SensitiveKeys()
    form = resolve("p", load_schema("p", raw), identity, sensitive)
    public = sensitive.scrub(dict(identity.metadata))
    out = json.dumps(form.to_json(), ensure_ascii=False)
    assert SECRET_MARK not in out and secret not in out  # no sensitive value, anywhere, however it got there
    specs = {spec["name"]: spec for spec in raw["fields"]}  # a profile question may wait for a later form
    profile = set((raw.get("progressive") or {}).get("fields", ()))
    for field in form.fields:
        spec = specs[field.name]
        options = frozenset(o["value"] for o in spec.get("options", []))
        multiple = field.multiple
        if field.prefilled:  # exact, case-sensitive key only, with the value fitted to the type
            assert spec["name"] in public
            fitted = fit(spec["type"], public[spec["name"]], options, multiple)
            assert fitted is not NOT_FIT and field.value == fitted
        elif "defaultValue" not in spec and spec["name"] in public:
            assert fit(spec["type"], public[spec["name"]], options, multiple) is NOT_FIT
        if field.known_hidden:  # not asked: trusted and hideKnown, or an answered profile question
            assert field.prefilled and field.disabled
            assert (spec.get("hideKnown") and field.source == "trusted") or field.name in profile
        elif field.disabled and not spec.get("disabled"):
            assert field.prefilled and (spec.get("lockKnown") or raw.get("lockKnown"))
    # The server's decision on the form as shown: a field a rule hides is never required.
    decision = decide(form.fields, answers_of(form.fields, {f.name: f.value for f in form.fields}))
    assert not decision.hidden & decision.required
    # Templates insert a value once: user text that looks like a template stays literal.
    name = identity.metadata["name"]
    if "{{" in name:
        for field in form.fields:
            if specs[field.name]["label"] == "{{userMetadata.name}}":
                assert field.label == name


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.sampled_from(NAMES), value=json_values)
def test_keys_differing_by_case_never_prefill(key, value):
    raw = {"fields": [{"name": "email", "type": "text"}]}
    identity = Identity.build(user_id="u", claimed={key: value})
    form = resolve("p", load_schema("p", raw), identity, SensitiveKeys())
    assert form.fields[0].prefilled is (key == "email" and fit("text", value, frozenset()) is not NOT_FIT)
