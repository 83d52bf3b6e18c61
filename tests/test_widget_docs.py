"""docs/widget.md's examples, run: the install snippet (in the browser tests,
which use it as printed), the embed-link minting in Python and in Node, and
that the framework examples go through the npm package's bindings (which
tests/test_npm_package_browser.py runs in React, Next.js and Vue apps)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app import ROOT
from tests.conftest import SECRET

DOC = ROOT / "docs" / "widget.md"


def snippet(name: str, doc: Path = DOC) -> str:
    match = re.search(rf"<!-- snippet: {name} -->\n```\w*\n(.*?)```", doc.read_text(), re.S)
    assert match, f"{doc.relative_to(ROOT)} has no snippet {name!r}"
    return match.group(1)


def install_stub() -> str:
    """The install snippet's stub, as printed (the browser tests' host pages use it)."""
    return re.search(r"<script>\n(.*?)</script>", snippet("install"), re.S).group(1)


def install_snippet(prefill: str, version: str) -> str:
    """The whole install snippet as printed, for a Prefill at ``prefill`` whose widget.js has ``version``."""
    return snippet("install").replace("https://PREFILL", prefill).replace("VERSION", version)


def widget_stub() -> str:
    """static/widget.js's ``stub`` function, as the snippet prints it: "!" + its text + "(window);"."""
    text = (ROOT / "static" / "widget.js").read_text()
    return "!" + re.search(r"^  var stub = (function\(w\)\{.*?\});\n\n", text, re.M | re.S).group(1) + "(window);\n"


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


def api_methods() -> set[str]:
    widget = (ROOT / "static" / "widget.js").read_text()
    api = set(re.findall(r"^      (\w+): ", widget.split("var methods = {", 1)[1].split("};", 1)[0], re.M))
    return (api | {"clearIdentity"}) - {"loaded"}


def test_the_stub_is_widget_js_s_own_and_stubs_every_method_of_the_api():
    stub = install_stub()
    assert stub == widget_stub()  # one text: docs, widget.js (which the npm package bundles), tests
    assert stub in (ROOT / "static" / "demo-host.js").read_text()  # the demo page's (its CSP: no inline script)
    for name in re.findall(r"<!-- snippet: ([\w-]+) -->", DOC.read_text()):
        if "w.prefill={q:[]}" in snippet(name):
            assert stub.strip() in snippet(name), f"snippet {name!r} has another stub"
    names = set(" ".join(re.findall(r'add\("([\w ]+)"', stub)).split())
    assert names == api_methods()


def test_the_snippet_preconnects_and_loads_the_versioned_script(wapp):
    from web.render.assets import widget_version

    text = snippet("install")
    assert '<link rel="preconnect" href="https://PREFILL" crossorigin>' in text
    assert re.search(r'<script async crossorigin src="https://PREFILL/widget\.js\?v=VERSION"', text)
    with wapp.app_context():
        version = widget_version()
    src = re.search(r'src="https://PREFILL(/widget\.js\?v=VERSION)"', text).group(1).replace("VERSION", version)
    r = wapp.test_client().get(src)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["Access-Control-Allow-Origin"] == "*"  # what the crossorigin attribute needs
    run = wapp.test_cli_runner().invoke(args=["prefill", "widget-version"])
    assert run.exit_code == 0 and run.output.strip() == version  # the docs' way to learn VERSION


# The stub as printed, run in Node against a bare window: every method answers as the loaded one does.
STUB_CHECK = r"""
const w = {};
new Function("window", STUB)(w);
const p = w.prefill, out = {};
const seen = [];
const off = p.on("ready", (d) => seen.push(["kept", d]));
const gone = p.on("ready", (d) => seen.push(["gone", d]));
out.onType = typeof off;
out.onIsThenable = typeof (off && off.then) === "function";
out.offResult = gone();
out.getVisitorId = p.getVisitorId();
out.hideForm = p.hideForm();
out.registerFormSchema = p.registerFormSchema({ nps: () => ({}) });
const pending = p.identify({ userId: "u1" });
out.identifyIsPromise = pending instanceof Promise;
out.queue = p.q.map((e) => [e[0], e[1].length, typeof e[2]]);
// widget.js's replay: each entry's method on the loaded API, its answer to the entry's callback.
const unsubscribed = [];
const loaded = { on: (ev, fn) => () => unsubscribed.push(ev), identify: () => ({ success: true }),
                 hideForm: () => {}, registerFormSchema: () => {} };
for (const [name, args, done] of p.q.splice(0)) {
  const answer = loaded[name](...args);
  if (typeof done === "function") done(answer);
}
off();  // after load: the real unsubscribe runs
out.unsubscribed = unsubscribed;
pending.then((r) => { out.identified = r; console.log(JSON.stringify(out)); });
"""


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js is not installed")
def test_the_stub_as_printed_answers_as_the_loaded_api_does():
    program = f"const STUB = {json.dumps(install_stub())};\n{STUB_CHECK}"
    run = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True, timeout=30)
    out = json.loads(run.stdout)
    assert out["onType"] == "function" and out["onIsThenable"] is False  # a React effect's cleanup, not a Promise
    assert "offResult" not in out and "hideForm" not in out and "registerFormSchema" not in out  # undefined
    assert out["getVisitorId"] is None and out["identifyIsPromise"] is True
    # The unsubscribed handler left the queue; the kept one waits for widget.js.
    assert out["queue"] == [["on", 2, "function"], ["hideForm", 0, "undefined"],
                            ["registerFormSchema", 1, "undefined"], ["identify", 1, "function"]]
    assert out["unsubscribed"] == ["ready"] and out["identified"] == {"success": True}


@pytest.mark.parametrize("name", ["react", "next", "vue"])
def test_the_framework_examples_go_through_the_bindings(name):
    """tests/test_npm_package_browser.py runs them in React, Next.js and Vue apps; here,
    that they use @prefill/widget's bindings and never reach for window.prefill themselves."""
    text = snippet(name)
    assert f"@prefill/widget/{'vue' if name == 'vue' else 'react'}" in text and "window.prefill" not in text


def test_the_doc_states_the_real_gzipped_size():
    import gzip

    size = len(gzip.compress((ROOT / "static" / "widget.js").read_bytes(), 9)) / 1024
    stated = float(re.search(r"about ([\d.]+) KB gzipped", DOC.read_text()).group(1))
    assert abs(size - stated) < 0.6, size
    assert Path(ROOT / "docs" / "images" / "widget.png").exists()
