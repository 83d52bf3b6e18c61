"""docs/providers.md's conditional-fields example, loaded as an author would load
it, and the behaviour the guide describes around it."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import SECRET, proof

from .test_crash import ROOT

GUIDE = (ROOT / "docs" / "providers.md").read_text()
EXAMPLE = next(b for b in re.findall(r"```python\n(.*?)```", GUIDE, re.S) if "visibleIf" in b)


@pytest.fixture
def guide_app(make_app, tmp_path, monkeypatch):
    def build(source: str = EXAMPLE, **config):
        package = tmp_path / "rules_guide"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "example.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("rules_guide")]:
            del sys.modules[name]
        return make_app(PREFILL_PROVIDER_MODULES="rules_guide.example", PREFILL_BUILTIN_FORMS=False, **config)
    yield build
    for name in [n for n in sys.modules if n.startswith("rules_guide")]:
        del sys.modules[name]


def submit(c, values):
    return c.post("/api/forms/help_request/submissions", json={"values": values})


def test_the_guides_example_branches_on_the_answers(guide_app):
    c = guide_app().test_client()
    base = {"email": "ann@example.com"}
    r = submit(c, {**base, "category": "billing"})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["invoice"]
    r = submit(c, {**base, "category": "billing", "invoice": "INV-7", "steps": "typed before switching"})
    assert r.status_code == 201 and r.json["values"]["invoice"] == "INV-7" and "steps" not in r.json["values"]
    r = submit(c, {**base, "category": "bug", "affected": ["api"]})
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["steps"]
    r = submit(c, {**base, "category": "bug", "affected": ["web"]})
    assert r.status_code == 201 and r.json["values"]["affected"] == ["web"] and "invoice" not in r.json["values"]


def test_the_guides_option_rule_and_hide_known(guide_app):
    app = guide_app(IDENTITY_SECRET=SECRET)
    c = app.test_client()
    c.post("/api/identify", json={"userId": "u1", "email": "ann@example.com", **proof("u1", plan="free")})
    plan = next(f for f in c.get("/api/forms/help_request").json["fields"] if f["name"] == "plan")
    assert plan["knownHidden"] is True
    r = submit(c, {"email": "x@example.com", "category": "cancel", "plan": "pro"})  # a tampered known value
    assert r.status_code == 422 and list(r.json["error"]["fields"]) == ["category"]
    c2 = app.test_client()
    c2.post("/api/identify", json={"userId": "u2", "email": "bo@example.com", **proof("u2", plan="pro")})
    assert submit(c2, {"category": "cancel"}).status_code == 201


def test_the_guides_schema_error_is_what_the_server_says(guide_app):
    broken = EXAMPLE.replace('{"var": "category"}, "billing"', '{"var": "categry"}, "billing"')
    r = guide_app(broken).test_client().get("/api/forms/help_request")
    assert r.status_code == 500
    quoted = re.search(r"`(provider 'help_request' returned an invalid schema: [^`]*)…`", GUIDE).group(1)
    assert r.json["error"]["message"].startswith(quoted)


def test_the_guides_operator_list_is_the_supported_one():
    from forms.rules import OPERATIONS

    section = GUIDE.split("**Operators.**", 1)[1].split("**The server is the truth.**", 1)[0]
    listed = set(re.findall(r"`(var|missing|[=!<>]+|and|or|if|in)`", section))
    assert listed == set(OPERATIONS)
