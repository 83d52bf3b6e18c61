"""The README's provider example and its preview command, run exactly as
printed (taken from README.md), so the README cannot drift from the code."""

from __future__ import annotations

import json
import os
import re
import subprocess

from .test_crash import ROOT

README = (ROOT / "README.md").read_text()


def block(lang: str, after: str) -> str:
    section = README[README.index(after):]
    return re.search(rf"```{lang}\n(.*?)```", section, re.S).group(1)


def test_the_readme_provider_and_preview_command_work_as_printed(tmp_path):
    module_path = re.search(r"Save this as `([\w/]+\.py)`", README).group(1)  # myapp/forms.py
    target = tmp_path / module_path
    target.parent.mkdir(parents=True)
    (target.parent / "__init__.py").write_text("")
    target.write_text(block("python", "## A provider in ten lines"))
    command = block("sh", "## A provider in ten lines").strip()
    assert "PREFILL_PROVIDER_MODULES=myapp.forms" in command and "[" not in command.replace("'", "")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/readme.sqlite3"}
    for var in ("PREFILL_PROVIDER_MODULES", "PREFILL_DEMO", "PREFILL_BUILTIN_FORMS"):
        env.pop(var, None)
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    form = json.loads(result.stdout)
    assert form["title"] == "Contact support"  # the README's form, not the built-in one
    fields = {f["name"]: f for f in form["fields"]}
    assert fields["email"]["value"] == "ann@example.com" and fields["email"]["disabled"] is True
    assert [o["value"] for o in fields["priority"]["options"]] == ["critical", "high", "normal"]
    assert "Add `--html`" in README
    html = subprocess.run(["bash", "-c", command + " --html"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert html.returncode == 0 and "<form" in html.stdout and "ann@example.com" in html.stdout
