"""@prefill/widget as integrators install it (npm/widget, tests/apps/README.md).

`make widget-package` packs the package with ``npm pack`` and installs that
tarball into node_modules; the apps under tests/apps import it from there, with
the React, Next.js, Vue, esbuild, TypeScript and ESLint pinned in
package-lock.json. Each app runs docs/widget.md's own examples (written into it
as ``docs-*`` files) and is built again only when an input changed.

In Chromium, the apps are served from ``http://localhost:<port>`` and Prefill is
``http://prefill.test``, which the browser maps to this test's server on
127.0.0.1: another site, with third-party cookies blocked (the first test proves
it), and an address the Next.js build can bake in once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest
from werkzeug.serving import make_server

from app import ROOT, create_app
from tests.conftest import SECRET, TEST_PROVIDERS, wipe
from tests.test_widget_docs import install_stub, snippet
from web.identity.verify import user_hash

APPS = ROOT / "tests" / "apps"
BIN = ROOT / "node_modules" / ".bin"
PACKAGE = ROOT / "node_modules" / "@prefill" / "widget"
PREFILL = "http://prefill.test"  # what the apps are built with; Chromium maps it to the test's Prefill
CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("PREFILL_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    not REQUIRED and not (shutil.which("npm") and shutil.which(CHROMIUM)),
    reason="npm or Chromium not installed (make test installs both)")


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# -- the package and the apps' sources --------------------------------------------------------
@pytest.fixture(scope="module")
def package() -> Path:
    """The packed tarball, installed: `make widget-package` (nothing to do when make test just did it)."""
    done = run("make", "--no-print-directory", "-s", "widget-package")
    assert done.returncode == 0, done.stdout + done.stderr
    write_docs_examples()
    return PACKAGE


def write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def example(name: str) -> str:
    return snippet(name).replace("https://PREFILL", PREFILL)


def next_files() -> dict[str, str]:
    """The Next.js example's files, split at their ``// app/<file>`` headings."""
    parts = re.split(r"^// (app/[\w.-]+)\n", example("next"), flags=re.M)
    return {name: text.strip() + "\n" for name, text in zip(parts[1::2], parts[2::2], strict=True)}


def write_docs_examples() -> None:
    """docs/widget.md's examples, as files of the apps that run them."""
    react = example("react")
    write(APPS / "react" / "docs-react.jsx", react)
    write(APPS / "next" / "app" / "docs-react.jsx", '"use client";\n' + react)  # "works as it is" in a client file
    for name, text in next_files().items():
        write(APPS / "next" / name, text)
    write(APPS / "vue" / "docs-App.vue", example("vue"))
    write(APPS / "ts" / "docs-package.ts", example("package"))
    write(APPS / "ts-global" / "docs-global.ts", example("global"))
    lint = APPS / "lint" / "src"
    lint.mkdir(exist_ok=True)
    write(lint / "react.jsx", react)
    for name, text in next_files().items():
        write(lint / ("next-" + Path(name).name), text)
    write(lint / "package-react.js", (PACKAGE / "dist" / "react.js").read_text())


def built(name: str, sources: list[Path], command: list[str | Path], env: dict[str, str] | None = None,
          timeout: int = 300) -> float:
    """Runs ``command`` unless its sources (files, or folders' files), the installed package,
    the lockfile and the command itself are what they were at its last success. Returns
    the seconds it took (0 when skipped)."""
    digest = hashlib.sha256(json.dumps([[str(c) for c in command], env or {}]).encode())
    files: list[Path] = []
    for source in [*sources, PACKAGE / "dist", ROOT / "package-lock.json"]:
        files += sorted(p for p in source.rglob("*") if p.is_file() and "dist" not in p.relative_to(source).parts
                        and ".next" not in p.parts) if source.is_dir() else [source]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    stamp = APPS / f".built-{name}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return 0.0
    started = time.monotonic()
    done = run(*command, env=env, timeout=timeout)
    assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
    stamp.write_text(digest.hexdigest())
    return time.monotonic() - started


ESBUILD = [BIN / "esbuild", "--bundle", "--format=esm", "--jsx=automatic", "--log-level=warning"]
BUILDS: dict[str, tuple[list[Path], list[str | Path], dict[str, str] | None]] = {
    "react": ([APPS / "react"], [*ESBUILD, APPS / "react" / "main.jsx", "--minify",
                                 "--define:process.env.NODE_ENV=\"production\"",
                                 f"--outfile={APPS}/react/dist/app.js"], None),
    "react-dev": ([APPS / "react"], [*ESBUILD, APPS / "react" / "main.jsx", "--jsx-dev", "--sourcemap=inline",
                                     "--define:process.env.NODE_ENV=\"development\"",
                                     f"--outfile={APPS}/react/dist/app-dev.js"], None),
    "vue": ([APPS / "vue"], ["node", APPS / "vue" / "build.mjs", APPS / "vue" / "dist" / "app.js"], None),
    "package": ([APPS / "package", APPS / "ts" / "docs-package.ts"],
                [*ESBUILD, APPS / "package" / "main.js", f"--outfile={APPS}/package/dist/app.js"], None),
    "next": ([APPS / "next"], [BIN / "next", "build", APPS / "next"],
             {"NEXT_PUBLIC_PREFILL_URL": PREFILL, "NEXT_TELEMETRY_DISABLED": "1"}),
}


def build(name: str) -> float:
    sources, command, env = BUILDS[name]
    return built(name, sources, command, env)


# -- servers ----------------------------------------------------------------------------------
class RequestLog:
    """What Prefill saw: (method, path, status, body of identity calls), WSGI middleware."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        entry: dict[str, Any] = {"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"]}
        if entry["method"] == "POST" and entry["path"] in ("/api/identify", "/api/reset"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            entry["body"] = json.loads(raw or b"{}")
            from io import BytesIO
            environ["wsgi.input"] = BytesIO(raw)

        def start(status: str, headers: Any, *rest: Any) -> Any:
            entry["status"] = int(status.split()[0])
            return start_response(status, headers, *rest)

        self.seen.append(entry)
        return self.app(environ, start)

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["method"] == "POST" and e["path"] == path]


PAGE = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
        '<link rel="icon" href="data:,"></head>'
        '<body><h1>Shop</h1><div id="root"></div><script type="module" src="{src}"></script></body></html>')


class Host(ThreadingHTTPServer):
    """The integrator's site for the esbuild apps: their pages and files, and its backend
    (a first-party cookie session; /api/prefill-proof makes the userHash, 400 ms late)."""

    PAGES = {"/react/": "/react/app.js", "/react-dev/": "/react/app-dev.js", "/vue/": "/vue/app.js",
             "/package/": "/package/app.js"}

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), self._handler())
        self.origin = f"http://localhost:{self.server_port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, body: bytes, kind: str, status: int = 200, cookie: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if cookie is not None:
                    self.send_header("Set-Cookie", cookie)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                user = re.search(r"(?:^|; )user=([^;]+)", self.headers.get("Cookie", ""))
                if url.path in Host.PAGES:
                    self.reply(PAGE.format(src=Host.PAGES[url.path]).encode(), "text/html; charset=utf-8")
                elif url.path == "/login":
                    name = parse_qs(url.query)["user"][0]
                    self.reply(b"{}", "application/json", cookie=f"user={name}; Path=/; HttpOnly; SameSite=Lax")
                elif url.path == "/logout":
                    self.reply(b"{}", "application/json", cookie="user=; Path=/; Max-Age=0")
                elif url.path == "/api/prefill-proof" and user:
                    time.sleep(0.4)  # the proof arrives after the user
                    self.reply(json.dumps({"userHash": user_hash(SECRET, user.group(1))}).encode(), "application/json")
                elif re.fullmatch(r"/(react|vue|package)/app(-dev)?\.js", url.path):
                    path = APPS / url.path.split("/")[1] / "dist" / url.path.split("/")[2]
                    self.reply(path.read_bytes(), "text/javascript")
                else:
                    self.reply(b"not found", "text/plain", 404)

        return Handler


def free_port() -> int:
    """A free port below the ephemeral range: it stays free until `next start` binds it, while
    the port-0 servers and the outgoing connections of other tests take theirs from that range."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(10000, low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


class NextServer:
    """`next start` of the built Next.js app, with its backend's secret."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process:
            return
        log = APPS / "next" / ".next" / "start.log"
        with log.open("w") as out:  # a file, not a pipe nobody reads while it runs
            self.process = subprocess.Popen(
                [str(BIN / "next"), "start", str(APPS / "next"), "-p", str(self.port), "-H", "127.0.0.1"], cwd=ROOT,
                env={**os.environ, "PREFILL_IDENTITY_SECRET": SECRET, "NEXT_TELEMETRY_DISABLED": "1"},
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                with urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as page:
                    assert "Shop" in page.read().decode(), "another server has this port"
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("next start did not answer")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def env(package: Path, sqlite_url: str) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    wipe(sqlite_url)
    host, nxt = Host(), NextServer()
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "npm", "AUTO_MIGRATE": False,
                      "RATELIMIT_ENABLED": False, "IDENTITY_SECRET": SECRET, "PREFILL_BUILTIN_FORMS": True,
                      "PREFILL_PROVIDER_MODULES": [TEST_PROVIDERS], "WIDGET_ORIGINS": f"{host.origin},{nxt.origin}"})
    log = RequestLog(app.wsgi_app)
    app.wsgi_app = log  # type: ignore[method-assign]
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-features=HttpsUpgrades",
            # prefill.test is this test's Prefill, a secure context as an https deployment is.
            f"--host-resolver-rules=MAP prefill.test:80 127.0.0.1:{srv.server_port}",
            f"--unsafely-treat-insecure-origin-as-secure={PREFILL}"])
        try:
            yield {"host": host, "next": nxt, "log": log, "browser": browser, "prefill": srv.server_port}
        finally:
            browser.close()
            nxt.stop()
            srv.shutdown()
            host.shutdown()
            app.extensions["prefill"].db.dispose()


def app_url(env: dict[str, Any], name: str) -> str:
    if name == "next":
        env["next"].start()
        return env["next"].origin + "/"
    return f"{env['host'].origin}/{name}/"


# -- in the browser -----------------------------------------------------------------------------
def test_prefill_is_another_site_whose_third_party_cookies_are_blocked(env):
    """The control: a SameSite=None cookie set first-party on Prefill's site is sent there,
    and not to Prefill framed by the app's site, for the reason Chromium gives."""
    context = env["browser"].new_context()
    try:
        page = context.new_page()
        page.goto(f"{PREFILL}/healthz")
        page.evaluate("document.cookie = 'probe=1; SameSite=None; Secure; path=/'")
        assert "probe=1" in page.evaluate("document.cookie")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        reasons: list[list[str]] = []  # why the probe cookie was not sent, request by request
        cdp.on("Network.requestWillBeSentExtraInfo", lambda e: reasons.extend(
            c["blockedReasons"] for c in e.get("associatedCookies", []) if c["cookie"]["name"] == "probe"))
        page.goto(f"{PREFILL}/healthz")
        page.goto(f"{env['host'].origin}/react/")
        page.evaluate(f"new Promise(function(r){{var f=document.createElement('iframe');f.onload=r;"
                      f"f.src='{PREFILL}/healthz';document.body.appendChild(f)}})")
        page.wait_for_timeout(300)
        assert reasons[0] == [], reasons  # first-party: sent
        assert any("UserPreferences" in why or "ThirdPartyPhaseout" in why for why in reasons[1:]), reasons
    finally:
        context.close()


def status(page: Any, text: str) -> None:
    page.wait_for_function("t => (document.getElementById('status') || {}).textContent === t", arg=text, timeout=15000)


@pytest.mark.parametrize("name", ["react", "react-dev", "vue", "next"])
def test_sign_in_prefill_submit_and_sign_out_in_the_app(env, name):
    """The app's user first, its proof 400 ms later: exactly one identify, with the proof; the
    form pre-filled and locked; formSubmitted once per subscription; sign-out resets once;
    an anonymous page sends neither. React's development build runs StrictMode's double effects."""
    build("next" if name == "next" else name)
    log: RequestLog = env["log"]
    log.seen.clear()
    context = env["browser"].new_context()
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.goto(app_url(env, name))
        status(page, "ready:true user:- verified:false")
        assert log.calls("/api/identify") == [] and log.calls("/api/reset") == []  # an anonymous mount

        page.click("#sign-in-u1")
        status(page, "ready:true user:u1 verified:true")
        identify = log.calls("/api/identify")
        assert len(identify) == 1, identify  # not before the proof, not twice under StrictMode
        assert identify[0]["status"] == 200 and identify[0]["body"] == {
            "userId": "u1", "email": "u1@example.com", "name": "User u1", "userHash": user_hash(SECRET, "u1")}

        page.get_by_role("button", name="Contact support").click()
        page.wait_for_selector("#prefill-panel iframe")
        frame = page.frame_locator("#prefill-panel iframe")
        email = frame.locator("#email")
        email.wait_for()
        assert email.input_value() == "u1@example.com" and email.get_attribute("readonly") is not None
        frame.locator("#subject").fill("Invoice missing")
        frame.locator("#priority").select_option("high")
        frame.locator("#message").fill("Please resend it.")
        frame.locator("button[type=submit]").click()
        frame.locator(".thanks").wait_for()
        ticket = page.get_by_role("status").filter(has_text="Ticket ")
        ticket.wait_for()
        sub = re.fullmatch(r"Ticket (sub_\w+) received", ticket.inner_text()).group(1)
        page.wait_for_function("window.events.length > 0")
        time.sleep(0.2)  # a second delivery would be here by now
        expected = {"react": [["hook", sub], ["stub", sub]], "react-dev": [["hook", sub], ["stub", sub]],
                    "vue": [["composable", sub]], "next": [["hook", sub]]}[name]
        assert sorted(page.evaluate("window.events")) == expected  # each subscription once: cleanups ran

        page.click("#sign-out")
        status(page, "ready:true user:- verified:false")
        assert len(log.calls("/api/reset")) == 1

        page.click("#sign-in-u2")
        status(page, "ready:true user:u2 verified:true")
        assert [c["body"]["userId"] for c in log.calls("/api/identify")] == ["u1", "u2"]  # one per sign-in
        assert len(log.calls("/api/reset")) == 1
        assert all(c["status"] == 200 for c in log.calls("/api/identify") + log.calls("/api/reset"))

        page.reload()  # a new page for the same signed-out app state: the session holds u2, the app nobody
        status(page, "ready:true user:- verified:false")
        assert len(log.calls("/api/reset")) == 2 and len(log.calls("/api/identify")) == 2
    finally:
        context.close()
    assert problems == [], problems


def test_the_loadprefill_example_loads_widget_js_once_and_resolves_to_the_ticket(env):
    build("package")
    context = env["browser"].new_context()
    try:
        page = context.new_page()
        page.goto(f"{env['host'].origin}/package/")
        ask = ("() => { window.answer = undefined; "
               "askSupport().then(a => { window.answer = a; }, e => { window.answer = String(e); }); }")
        page.evaluate(ask)
        frame = page.frame_locator("#prefill-panel iframe")
        frame.locator("#subject").fill("Invoice missing")
        frame.locator("#email").fill("ann@example.com")  # anonymous: nothing is known, nothing locked
        frame.locator("#priority").select_option("high")
        frame.locator("#message").fill("Please resend it.")
        frame.locator("button[type=submit]").click()
        answered = "window.answer !== undefined"
        page.wait_for_function(answered, timeout=15000)
        assert re.fullmatch(r"sub_\w+", page.evaluate("window.answer"))
        page.evaluate(ask)  # again: the same widget.js, the panel reopened
        frame.locator("#subject").wait_for()
        page.get_by_role("button", name="Close form").click()
        page.wait_for_function(answered, timeout=15000)
        assert page.evaluate("window.answer") is None
        tags = page.evaluate("""[...document.querySelectorAll('link[rel=preconnect], script[src*="widget.js"]')]
                                .map(e => [e.tagName, e.href || e.src, e.crossOrigin])""")
        assert tags == [["LINK", f"{PREFILL}/", "anonymous"], ["SCRIPT", f"{PREFILL}/widget.js", "anonymous"]]
    finally:
        context.close()


def test_next_prerenders_the_page_with_the_provider_and_no_window(env):
    """`next build` prerendered "/" (static) through PrefillProvider: the server touched no window
    (it would have thrown) and rendered the children with the server state."""
    build("next")
    html = (APPS / "next" / ".next" / "server" / "app" / "index.html").read_text()
    assert "ready:false user:- verified:false" in html and "Contact support" in html
    assert "prefill.test/widget.js" not in html  # the script is added after hydration, by the provider


# -- in Node: server rendering, the identity rules, the published files -------------------------
SSR = r"""
import { renderToString } from "react-dom/server";
import { createElement as h } from "react";
import { PrefillProvider, usePrefill } from "@prefill/widget/react";
import { createSSRApp, h as vh } from "vue";
import { renderToString as vueToString } from "vue/server-renderer";
import { usePrefill as useVue } from "@prefill/widget/vue";
import { loadPrefill } from "@prefill/widget";

const out = { window: typeof window };
const warnings = [];
console.warn = (m) => warnings.push(String(m));
function Child() { const p = usePrefill(); return h("p", null, `ready:${p.ready} ${typeof p.showForm}`); }
out.react = renderToString(h(PrefillProvider, { url: "https://p.example", user: { userId: "u1" }, proof: null },
  h(Child)));
try { renderToString(h(Child)); } catch (e) { out.outside = e.message; }
out.load = await loadPrefill({ url: "https://p.example" }).then(() => "resolved", (e) => e.message);
const app = createSSRApp({ setup() {
  const p = useVue({ url: "https://p.example", user: null, proof: null });
  p.on("formSubmitted", () => {});  // as the docs' Vue example does in setup: quiet on a server
  return () => vh("p", null, `ready:${p.ready.value}`);
} });
out.vue = await vueToString(app);
out.call = await usePrefillCall();
async function usePrefillCall() {
  let api;
  renderToString(h(PrefillProvider, { url: "x", user: null, proof: null },
    h(function Grab() { api = usePrefill(); return null; })));
  return [await api.showForm("support_ticket"), typeof api.on("ready", () => {})];
}
out.warnings = warnings;
console.log(JSON.stringify(out));
"""


def node(program: str) -> Any:
    done = run("node", "--input-type=module", "-e", program, cwd=APPS, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_server_rendering_imports_and_renders_without_a_window(package):
    out = node(SSR)
    assert out["window"] == "undefined"
    assert out["react"] == "<p>ready:false function</p>" and out["vue"] == "<p>ready:false</p>"
    assert out["outside"].startswith("usePrefill() is used outside <PrefillProvider")
    assert out["load"].startswith("loadPrefill() runs in a browser")
    # A call on the server: the guard warns and answers, never throws.
    assert out["call"] == [{"success": False, "error": {"code": "not_in_browser",
                                                        "message": "prefill.showForm() needs a browser."}}, "function"]
    # The React API's calls on the server warn (showForm, on); the Vue example's on() in setup does not.
    assert out["warnings"] == [f"Prefill: prefill.{name}() was called outside a browser (during server rendering?): "
                               "call it from an effect or an event handler." for name in ("showForm", "on")]


# The identity rules (core.js's syncIdentity) against a recording window.prefill, case by case.
RULES = r"""
const calls = [];
const handlers = {};
globalThis.document = {};
globalThis.window = { prefill: {
  loaded: true,
  on: (e, f) => { (handlers[e] = handlers[e] || []).push(f); return () => {}; },
  identify: (p) => {
    calls.push(["identify", p.userId, p.userHash || null]);
    return Promise.resolve({ success: true });
  },
  resetUser: () => { calls.push(["reset"]); return Promise.resolve({ success: true }); },
  getVisitorId: () => "v_1",
} };
const core = await import(process.argv[1]);
const k = core.keyOf;
const stored = JSON.parse(process.argv[2]);  // who the stored session is when the page starts
core.api.on("ready", () => {});  // installs the watchers
handlers.ready.forEach((f) => f({ visitorId: "v_1", userId: stored, verified: !!stored }));
const steps = JSON.parse(process.argv[3]);
const value = (x) => (x === "?" ? undefined : x);  // "?": undefined, which JSON cannot say
for (const [user, proof] of steps) core.syncIdentity(k(value(user)), k(value(proof)));
console.log(JSON.stringify(calls));
"""

U1, U2, H1, H1B = {"userId": "u1"}, {"userId": "u2"}, {"userHash": "h1"}, {"userHash": "h1b"}


@pytest.mark.parametrize(("stored", "steps", "calls"), [
    (None, [[None, None], [None, None]], []),  # anonymous first mount (twice): nothing
    (None, [[U1, None], [U1, None], [U1, H1], [U1, H1]], [["identify", "u1", "h1"]]),  # waits for the proof, once
    (None, [[U1, H1], [{"userId": "u1"}, {"userHash": "h1"}]], [["identify", "u1", "h1"]]),  # equal values: once
    (None, [[U1, H1], [U1, H1B]], [["identify", "u1", "h1"], ["identify", "u1", "h1b"]]),  # a new proof
    (None, [[U1, H1], [U1, None], [U1, H1B]], [["identify", "u1", "h1"], ["identify", "u1", "h1b"]]),
    (None, [[U1, H1], [None, None], [None, None]], [["identify", "u1", "h1"], ["reset"]]),  # sign-out: one reset
    (None, [[U1, H1], [U2, None], [U2, {"userHash": "h2"}]],  # another user, proof on its way: u1 goes first
     [["identify", "u1", "h1"], ["reset"], ["identify", "u2", "h2"]]),
    ("u1", [[None, None], [None, None]], [["reset"]]),  # the stored session is someone signed out since
    ("u1", [[U1, None], [U1, H1]], [["identify", "u1", "h1"]]),  # the same user, proof on its way: no reset
    ("u2", [[U1, None], [U1, H1]], [["reset"], ["identify", "u1", "h1"]]),  # someone else's session
    (None, [[U1, "none"]], [["identify", "u1", None]]),  # proof "none": a claim
    ("u1", [["?", "?"], ["?", "?"], [U1, H1]], [["identify", "u1", "h1"]]),  # undefined: the app's session loading
    (None, [[U1, H1], ["?", "?"]], [["identify", "u1", "h1"], ["reset"]]),  # ... but after a user, a sign-out
])
def test_the_identity_rules(package, stored, steps, calls):
    done = run("node", "--input-type=module", "-e", RULES, str(PACKAGE / "dist" / "core.js"), json.dumps(stored),
               json.dumps(steps), cwd=APPS, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == calls


def test_the_tarball_holds_the_built_package_and_its_stub_is_widget_js_s(package):
    packed = run("npm", "pack", "--dry-run", "--json", "--ignore-scripts", cwd=ROOT / "npm" / "widget")
    assert packed.returncode == 0, packed.stderr
    files = sorted(f["path"] for f in json.loads(packed.stdout)[0]["files"])
    names = ("core", "index", "react", "stub", "types", "vue")
    built_files = sorted([f"dist/{n}.{x}" for n in names for x in ("js", "d.ts")] + ["dist/global.d.ts"])
    assert files == sorted([*built_files, "README.md", "package.json"])
    meta = json.loads((PACKAGE / "package.json").read_text())
    assert meta["type"] == "module" and meta["sideEffects"] is False
    for entry in (".", "./react", "./vue"):
        assert list(meta["exports"][entry]) == ["types", "default"]  # types first, as TypeScript needs
    # One implementation: the stub is widget.js's, as docs/widget.md prints it; none of widget.js is in the package.
    stub = (PACKAGE / "dist" / "stub.js").read_text()
    assert "export const installStub = " + install_stub().strip()[1:-len("(window);")] + ";" in stub
    code = "".join(p.read_text() for p in (PACKAGE / "dist").glob("*.js"))
    assert "/api/identify" not in code and "postMessage" not in code and "localStorage" not in code


def bundle_size(entry: str) -> float:
    """KB gzipped of what a bundler adds for ``entry`` (minified; React and Vue left out)."""
    command = [str(BIN / "esbuild"), "--bundle", "--minify", "--format=esm", "--external:react", "--external:vue"]
    program = subprocess.run(command, input=entry.encode(), cwd=APPS, capture_output=True, check=True, timeout=60)
    return len(gzip.compress(program.stdout, 9)) / 1024


def test_the_doc_states_the_package_s_real_size(package):
    alone = bundle_size('export * from "@prefill/widget";')
    react = bundle_size('export * from "@prefill/widget"; export * from "@prefill/widget/react";')
    vue = bundle_size('export * from "@prefill/widget"; export * from "@prefill/widget/vue";')
    widget = len(gzip.compress((ROOT / "static" / "widget.js").read_bytes(), 9)) / 1024
    stated = re.search(r"Sizes, gzipped: `@prefill/widget` adds ([\d.]+) KB to your bundle \(minified\), ([\d.]+) KB\s+"
                       r"with the React binding, ([\d.]+) KB with the Vue one; widget\.js, which it loads from\s+"
                       r"your Prefill, is ([\d.]+) KB", (ROOT / "docs" / "widget.md").read_text())
    assert stated, "docs/widget.md does not state the package's size"
    assert [float(x) for x in stated.groups()] == pytest.approx([alone, react, vue, widget], abs=0.1)


# -- TypeScript and ESLint ------------------------------------------------------------------------
def test_typescript_compiles_code_using_the_package_and_window_prefill(package):
    """tsc --noEmit of an app importing the package (and its bindings), and of a page using
    window.prefill with the declarations; every @ts-expect-error in them must be an error."""
    for app in ("ts", "ts-global"):
        done = run(BIN / "tsc", "--noEmit", "-p", APPS / app)
        assert done.returncode == 0, done.stdout
    # Without the declarations, the error.
    bare = APPS / "ts-global" / "dist"
    bare.mkdir(exist_ok=True)
    (bare / "page.ts").write_text('window.prefill.identify({ userId: "u1" });\nexport {};\n')
    done = run(BIN / "tsc", "--noEmit", "--strict", "--lib", "ES2022,DOM", "--types", "", bare / "page.ts")
    assert "error TS2339: Property 'prefill' does not exist on type 'Window & typeof globalThis'" in done.stdout


def test_eslint_react_hooks_rules_pass_on_the_docs_examples_and_the_binding(package):
    lint = APPS / "lint"
    # The control: the example the docs had before, with its `[user?.id]`, is what the rules report.
    old = lint / "src" / "old.jsx"
    old.write_text('import { useEffect } from "react";\nexport function PrefillIdentity({ user, proof }) {\n'
                   "  useEffect(() => {\n    if (user) window.prefill.identify({ userId: user.id, ...proof });\n"
                   "    else window.prefill.resetUser();\n  }, [user?.id]);\n  return null;\n}\n")
    try:
        done = run(BIN / "eslint", "--config", lint / "eslint.config.mjs", "--format", "json", lint / "src")
    finally:
        old.unlink()
    report = json.loads(done.stdout)
    found = {Path(r["filePath"]).name: [(m["ruleId"], m["message"]) for m in r["messages"]] for r in report}
    assert {rule for rule, _ in found.pop("old.jsx")} == {"react-hooks/exhaustive-deps"}
    assert found == {"react.jsx": [], "next-prefill.jsx": [], "next-layout.jsx": [], "package-react.js": []}
