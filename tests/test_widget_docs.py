"""docs/widget.md's examples, run: the install snippet (in the browser tests,
which use it as printed), the embed-link minting in Python and in Node, and
the framework examples' calls against widget.js's API."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app import ROOT
from tests.conftest import SECRET

DOC = ROOT / "docs" / "widget.md"


def snippet(name: str) -> str:
    match = re.search(rf"<!-- snippet: {name} -->\n```\w*\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"docs/widget.md has no snippet {name!r}"
    return match.group(1)


def install_stub() -> str:
    """The install snippet's stub, as printed (the browser tests' host pages use it)."""
    return re.search(r"<script>\n(.*?)</script>", snippet("install"), re.S).group(1)


@pytest.fixture
def wapp(make_app):
    return make_app(IDENTITY_SECRET=SECRET)


def exchange(app, link: str) -> tuple[int, dict]:
    assert "?embed=1#token=" in link
    token = link.split("#token=", 1)[1]
    r = app.test_client().post("/api/embed/session", json={"token": token})
    return r.status_code, r.json


def test_the_python_minting_example_makes_a_link_that_works_once(wapp):
    scope: dict = {}
    exec(snippet("mint-python"), scope)
    link = scope["embed_link"]("https://prefill.example", "support_ticket", "u7", SECRET, plan="enterprise")
    status, body = exchange(wapp, link)
    assert status == 201 and body["userId"] == "u7" and body["verified"] is True and "plan" in body["trustedKeys"]
    assert exchange(wapp, link)[1]["error"]["code"] == "identity_unverified"


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js is not installed")
def test_the_node_minting_example_makes_a_link_that_works_once(wapp):
    program = snippet("mint-node") + (
        f'\nconsole.log(embedLink("https://prefill.example", "support_ticket", "u8", {SECRET!r}, '
        '{email: "eight@example.com"}));\n')
    run = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True, timeout=30)
    link = run.stdout.strip()
    status, body = exchange(wapp, link)
    assert status == 201 and body["userId"] == "u8" and body["userMetadata"]["email"] == "eight@example.com"
    assert exchange(wapp, link)[0] == 401


def test_the_stub_queues_every_method_of_the_api():
    widget = (ROOT / "static" / "widget.js").read_text()
    api = set(re.findall(r"^    (\w+): ", widget.split("var api = {", 1)[1].split("};", 1)[0], re.M))
    api.add("clearIdentity")
    api.discard("loaded")
    def names(text: str) -> set[str]:
        return set(re.findall(r'"(\w+)"', re.search(r'\[("identify".*?)\]', text, re.S).group(1)))

    assert names(install_stub()) == api
    assert names(snippet("next")) == api


@pytest.mark.parametrize("name", ["react", "next", "vue"])
def test_the_framework_examples_call_only_the_documented_api(name):
    """Not run in React, Next.js or Vue (none is installed here): their calls are
    checked against widget.js, and that window is touched only in effects."""
    text = snippet(name)
    calls = set(re.findall(r"window\.prefill\.(\w+)", text))
    assert calls == {"identify", "resetUser"}
    assert "useEffect" in text or "watch(" in text


def test_the_doc_states_the_real_gzipped_size():
    import gzip

    size = len(gzip.compress((ROOT / "static" / "widget.js").read_bytes(), 9)) / 1024
    stated = float(re.search(r"about ([\d.]+) KB gzipped", DOC.read_text()).group(1))
    assert abs(size - stated) < 0.6, size
    assert Path(ROOT / "docs" / "images" / "widget.png").exists()
