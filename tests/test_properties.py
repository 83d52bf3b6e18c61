"""Property tests for the engine (hypothesis): for any metadata — nested,
unicode, huge numbers, keys that differ only by case — and any valid schema,
prefill matches exact keys only, no sensitive value reaches any output, and a
template never evaluates text that came from a user."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
def schemas(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    fields = []
    for name in names:
        ftype = draw(st.sampled_from(FIELD_TYPES))
        field = {"name": name, "type": ftype, "label": draw(st.sampled_from(TEMPLATES)),
                 "help": draw(st.none() | st.sampled_from(TEMPLATES))}
        if ftype in ("select", "radio", "checkboxes"):
            values = draw(st.lists(SAFE_TEXT.filter(bool), min_size=1, max_size=4, unique=True))
            field["options"] = [{"label": draw(st.sampled_from(TEMPLATES)), "value": v} for v in values]
        if draw(st.booleans()):
            field["lockKnown"] = True
        if draw(st.integers(0, 4)) == 0 and ftype not in ("select", "radio", "checkbox", "checkboxes"):
            field["defaultValue"] = draw(st.sampled_from(TEMPLATES))
        fields.append(field)
    return {"fields": fields, "title": draw(st.sampled_from(TEMPLATES))}


@st.composite
def identities(draw):
    claimed = draw(st.dictionaries(st.sampled_from(NAMES) | SAFE_TEXT, json_values, max_size=6))
    # User text that looks like a template must stay literal.
    claimed["name"] = draw(st.sampled_from(["Ann", "{{userMetadata.authToken}}", "{{userId}}", "{{ x }}"]))
    secret = SECRET_MARK + draw(st.text(alphabet="abcdef0123456789", min_size=4, max_size=8))
    claimed["authToken"] = secret
    claimed["nested"] = {"password": secret + "-p", "fine": "ok"}
    claimed[draw(st.sampled_from(["apiKey", "API_KEY", "refreshToken"]))] = secret + "-k"
    return Identity.build(user_id=draw(st.sampled_from(["u1", "{{userMetadata.authToken}}"])), visitor_id="v_1",
                          claimed=claimed, session_metadata={"page": "/x", "sessionToken": secret + "-s"},
                          cache_key=None), secret


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=schemas(), who=identities())
def test_prefill_is_exact_and_secrets_and_templates_stay_out(raw, who):
    identity, secret = who
    sensitive = SensitiveKeys()
    form = resolve("p", load_schema("p", raw), identity, sensitive)
    public = sensitive.scrub(dict(identity.metadata))
    out = json.dumps(form.to_json(), ensure_ascii=False)
    assert SECRET_MARK not in out and secret not in out  # no sensitive value, anywhere, however it got there
    for field, spec in zip(form.fields, raw["fields"], strict=True):
        if field.prefilled:  # exact, case-sensitive key only, with the value fitted to the type
            assert spec["name"] in public
            fitted = fit(spec["type"], public[spec["name"]], frozenset(o["value"] for o in spec.get("options", [])))
            assert fitted is not NOT_FIT and field.value == fitted
        elif "defaultValue" not in spec and spec["name"] in public:
            options = frozenset(o["value"] for o in spec.get("options", []))
            assert fit(spec["type"], public[spec["name"]], options) is NOT_FIT
        if field.disabled and not spec.get("disabled"):
            assert field.prefilled and (spec.get("lockKnown") or raw.get("lockKnown"))
    # Templates insert a value once: user text that looks like a template stays literal.
    name = identity.metadata["name"]
    if "{{" in name:
        for field, spec in zip(form.fields, raw["fields"], strict=True):
            if spec["label"] == "{{userMetadata.name}}":
                assert field.label == name


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.sampled_from(NAMES), value=json_values)
def test_keys_differing_by_case_never_prefill(key, value):
    raw = {"fields": [{"name": "email", "type": "text"}]}
    identity = Identity.build(user_id="u", claimed={key: value})
    form = resolve("p", load_schema("p", raw), identity, SensitiveKeys())
    assert form.fields[0].prefilled is (key == "email" and fit("text", value, frozenset()) is not NOT_FIT)
