"""docs/providers.md's Python providers, loaded as an author would load them
(a module named in PREFILL_PROVIDER_MODULES) and resolved."""

from __future__ import annotations

import re
import sys

from .test_crash import ROOT

GUIDE = (ROOT / "docs" / "providers.md").read_text()


def test_the_guides_python_providers_load_and_resolve(make_app, tmp_path, monkeypatch):
    blocks = [b for b in re.findall(r"```python\n(.*?)```", GUIDE, re.S) if "@provider" in b]
    assert len(blocks) >= 2
    package = tmp_path / "guide_forms"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for i, block in enumerate(blocks):
        (package / f"example{i}.py").write_text(block)
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = ",".join(f"guide_forms.example{i}" for i in range(len(blocks)))
    app = make_app(PREFILL_PROVIDER_MODULES=modules, PREFILL_BUILTIN_FORMS=False)
    c = app.test_client()
    assert c.get("/api/forms/refund?orderId=A-1").json["fields"][0]["value"] == "A-1"
    assert c.get("/api/forms/order_question").status_code == 401  # requires="identified"
    c.post("/api/identify", json={"userId": "u1", "email": "ann@example.com"})
    form = c.get("/api/forms/order_question?orderId=B-2").json
    fields = {f["name"]: f for f in form["fields"]}
    assert fields["orderId"]["value"] == "B-2" and fields["email"]["disabled"] is True
    for name in list(sys.modules):
        if name.startswith("guide_forms"):
            del sys.modules[name]
