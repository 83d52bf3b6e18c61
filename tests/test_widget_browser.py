"""widget.js across sites, in real headless Chromium (Debian's, driven by Playwright).

Prefill runs on ``http://127.0.0.1:<port>``; the integrator's site on
``http://localhost:<port>`` (another site), served by a plain HTTP server that
also plays the integrator's backend (it signs the identity). Playwright's
browser contexts block third-party cookies, and the first test proves it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.serving import make_server

from app import ROOT, create_app
from tests.conftest import SECRET, TEST_PROVIDERS, proof, wipe
from tests.test_widget_docs import install_stub
from web.identity.verify import sign_identity_token

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")

STUB = install_stub()  # docs/widget.md's install snippet, as printed


class Site:
    """The integrator's site: host pages, and its backend signing identities."""

    def __init__(self) -> None:
        self.prefill = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_port
        self.origin = f"http://localhost:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/cookie":  # a cookie seen here proves what the browser sent
                    body = self.headers.get("Cookie", "")
                else:
                    body = site.page(url.path, q)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def page(self, path: str, q: dict[str, str]) -> str:
        head = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body>'
        head += "<main><h1>Shop</h1><p>Welcome to the shop.</p></main>"
        if path == "/frame":  # an app that only frames a server-rendered form, with a signed link
            return head + (f'<iframe id="f" title="Support form" style="width:600px;height:900px" '
                           f'src="{self.prefill}/forms/support_ticket?embed=1#token={q["token"]}"></iframe>')
        if path == "/foreign":  # a page that frames the panel and tries to hand it a session
            src = f"{self.prefill}/forms/support_ticket?embed=1&widget=1"
            return head + f'<iframe id="f" title="Form" src="{src}"></iframe>'
        calls = ""
        if "user" in q:
            ident: dict[str, Any] = {"userId": q["user"], "email": f"{q['user']}@example.com", "name": "Ann"}
            if q.get("claimed_plan"):
                ident["metadata"] = {"plan": q["claimed_plan"]}
            ident.update(proof(q["user"], **({"plan": q["plan"]} if q.get("plan") else {})))
            calls += f"prefill.identify({json.dumps(ident)}).then(function(r){{log.push(['identify',r])}});"
            calls += ("prefill.updateSession({metadata:{page:'pricing'}}).then(function(r){log.push(['session',r])});")
        calls += "prefill.getVisitorId().then(function(v){log.push(['visitorId',v])});"
        calls += ("prefill.on('formSubmitted',function(d){log.push(['formSubmitted',d])});"
                  "window.addEventListener('message',function(e){if(e.data&&e.data.type)log.push(['message',e.data.type,e.data.data])});")
        launcher = f' data-form="{escape(q["launcher"])}"' if q.get("launcher") else ""
        return (head + f"<script>window.log=[];{STUB}{calls}</script>"
                f'<script async src="{self.prefill}/widget.js"{launcher}></script></body></html>')


class RequestLog:
    """What Prefill's server saw: every request line and Referer (WSGI middleware)."""

    def __init__(self, app: Any) -> None:
        self.app, self.lines = app, []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        query = environ.get("QUERY_STRING")
        self.lines.append(f'{environ["REQUEST_METHOD"]} {environ["PATH_INFO"]}{"?" + query if query else ""} '
                          f'referer={environ.get("HTTP_REFERER", "")}')
        return self.app(environ, start_response)


@pytest.fixture
def env(sqlite_url: str, browser: Any) -> Iterator[dict[str, Any]]:
    wipe(sqlite_url)
    site = Site()
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "widget", "AUTO_MIGRATE": False,
                      "RATELIMIT_ENABLED": False, "IDENTITY_SECRET": SECRET, "PREFILL_BUILTIN_FORMS": True,
                      "PREFILL_PROVIDER_MODULES": [TEST_PROVIDERS], "WIDGET_ORIGINS": site.origin,
                      "ADHOC_FORMS": True,
                      # Any localhost page may frame forms; only the site in WIDGET_ORIGINS may hand them a session.
                      "FRAME_ANCESTORS": "'self' http://localhost:*"})
    log = RequestLog(app.wsgi_app)
    app.wsgi_app = log  # type: ignore[method-assign]
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    site.prefill = f"http://127.0.0.1:{srv.server_port}"
    context = browser.new_context()
    tokens: list[str] = []
    yield {"site": site, "prefill": site.prefill, "app": app, "log": log, "context": context, "tokens": tokens}
    # Whatever the test did: no session or identity token ever reached Prefill in a URL or a Referer.
    for page in context.pages:
        read = "Object.keys(localStorage).map(function(k){return localStorage.getItem(k)})"
        stored = page.evaluate(read) if page.url.startswith(site.origin) else []
        tokens.extend(t for t in stored if t and not t.startswith("v_"))
    context.close()
    srv.shutdown()
    site.server.shutdown()
    seen = "\n".join(log.lines)
    assert "token=" not in seen and "eyJ" not in seen, seen
    for token in tokens:
        assert token not in seen
    app.extensions["prefill"].db.dispose()


LOADED = "window.prefill && window.prefill.loaded && log.some(function(l){return l[0]==='visitorId'})"


def host(env: dict[str, Any], **q: str) -> Any:
    page = env["context"].new_page()
    query = "&".join(f"{k}={v}" for k, v in q.items())
    page.goto(f"{env['site'].origin}/?{query}")
    page.wait_for_function(LOADED)
    return page


def panel_frame(page: Any) -> Any:
    page.wait_for_selector("#prefill-panel iframe")
    frame = page.frame_locator("#prefill-panel iframe")
    frame.locator("form.prefill-form, .thanks, .error-page").first.wait_for()
    return frame


def show(page: Any, name: str = "support_ticket") -> dict[str, Any]:
    return page.evaluate(f"prefill.showForm({json.dumps(name)})")


# -- the tests -------------------------------------------------------------------------------
def test_third_party_cookies_are_blocked_in_these_browsers(env):
    """The control: a SameSite=None cookie set first-party on Prefill's site is
    not sent to Prefill framed by another site, and Chromium says why."""
    page = env["context"].new_page()
    page.goto(f"{env['prefill']}/healthz")
    page.evaluate("document.cookie = 'probe=1; SameSite=None; Secure; path=/'")
    assert "probe=1" in page.evaluate("document.cookie")
    cdp = env["context"].new_cdp_session(page)
    cdp.send("Network.enable")
    blocked: list[list[str]] = []
    cdp.on("Network.requestWillBeSentExtraInfo", lambda e: blocked.extend(
        c["blockedReasons"] for c in e.get("associatedCookies", []) if c["cookie"]["name"] == "probe"))
    page.goto(f"{env['site'].origin}/frame?token=x")  # any cross-site frame of Prefill
    page.frame_locator("#f").locator("body").wait_for()
    assert any("UserPreferences" in reasons or "ThirdPartyPhaseout" in reasons for reasons in blocked), blocked


def test_queued_calls_replay_in_order_and_the_visitor_id_survives_a_reload(env):
    page = host(env, user="u1", plan="enterprise")
    page.wait_for_function("log.filter(function(l){return l[0]==='identify'||l[0]==='session'}).length === 2")
    log = page.evaluate("log")
    identify = next(entry[1] for entry in log if entry[0] == "identify")
    assert identify["success"] is True and identify["verified"] is True and identify["userId"] == "u1"
    assert next(entry[1] for entry in log if entry[0] == "session")["sessionMetadata"] == {"page": "pricing"}
    visitor = next(entry[1] for entry in log if entry[0] == "visitorId")
    assert re.fullmatch(r"v_\d+_[a-z0-9]+", visitor)
    api = [line.split()[1] for line in env["log"].lines if line.startswith("POST /api/")]
    assert api == ["/api/session", "/api/identify", "/api/session/metadata"]  # the queue's order
    types = [entry[1] for entry in log if entry[0] == "message"]
    assert "prefill:ready" in types and "prefill:identityUpdate" in types
    page.reload()
    page.wait_for_function(LOADED)
    assert page.evaluate("prefill.getVisitorId()") == visitor
    assert page.evaluate("prefill.identify({userId: 'u1'})")["success"] is False  # a proof is required
    assert page.evaluate("fetch(" + json.dumps(env["prefill"] + "/api/me") + ", {headers: {Authorization: "
                         "'Bearer ' + localStorage.getItem('prefill:session:" + env["prefill"] + "')}})"
                         ".then(function(r){return r.json()})")["userId"] == "u1"  # same session after reload


def test_signed_identity_prefills_locks_and_unlocks_enterprise_priorities(env):
    page = host(env, user="u1", plan="enterprise")
    assert show(page) == {"success": True}
    frame = panel_frame(page)
    email = frame.locator("#email")
    assert email.input_value() == "u1@example.com" and email.get_attribute("readonly") is not None
    assert frame.locator("#priority option").all_inner_texts() == ["Choose…", "Critical", "High", "Normal"]
    assert page.locator("#prefill-panel").get_attribute("role") == "dialog"
    assert page.locator("#prefill-panel iframe").get_attribute("title") == "Contact support"
    claimed = host(env, user="u2", claimed_plan="enterprise")
    show(claimed)
    frame = panel_frame(claimed)
    assert frame.locator("#priority option").all_inner_texts() == ["Choose…", "High", "Normal", "Low"]


def test_submitting_stores_for_the_verified_user_and_fires_form_submitted(env, browser):
    page = host(env, user="u1", plan="enterprise")
    show(page)
    frame = panel_frame(page)
    iframe = page.locator("#prefill-panel iframe")
    before = iframe.bounding_box()["height"]
    inner = next(f for f in page.frames if f.url.startswith(env["prefill"]))
    inner.evaluate("document.querySelector('form').noValidate = true")  # past the browser's own checks
    frame.locator("button[type=submit]").click()  # nothing filled in: a 422 with its banner and messages
    frame.locator(".notice").wait_for()
    page.wait_for_function(f"document.querySelector('#prefill-panel iframe').offsetHeight > {before}")
    frame.locator("button[type=submit]").scroll_into_view_if_needed()
    assert frame.locator("button[type=submit]").is_visible()  # the frame grew: the button is still reachable
    frame.locator("#subject").fill("Invoice missing")
    frame.locator("#priority").select_option("critical")
    frame.locator("#message").fill("Please resend it.")
    frame.locator("button[type=submit]").click()
    frame.locator(".thanks").wait_for()
    assert frame.get_by_text("Send another").is_visible()
    page.wait_for_function("log.some(function(l){return l[0]==='formSubmitted'})")
    event = next(entry[1] for entry in page.evaluate("log") if entry[0] == "formSubmitted")
    assert event["form"] == "support_ticket" and event["id"].startswith("sub_")
    messages = [entry[1] for entry in page.evaluate("log") if entry[0] == "message"]
    assert "prefill:formSubmitted" in messages and "prefill:formShown" in messages
    # The user's history, from a second browser context (another device).
    other = browser.new_context()
    try:
        r = other.request.post(f"{env['prefill']}/api/identify", data={"userId": "u1", **proof("u1")})
        assert r.ok
        items = other.request.get(f"{env['prefill']}/api/submissions").json()["items"]
    finally:
        other.close()
    assert [i["id"] for i in items] == [event["id"]]
    assert items[0]["values"]["email"] == "u1@example.com" and items[0]["values"]["priority"] == "critical"
    # "Send another" shows the form again, in the panel.
    frame.get_by_text("Send another").click()
    frame.locator("form.prefill-form").wait_for()
    assert frame.locator("#email").input_value() == "u1@example.com"


def test_reset_user_shows_an_empty_unlocked_form_and_failures_resolve(env):
    page = host(env, user="u1", plan="enterprise")
    visitor = page.evaluate("prefill.getVisitorId()")
    out = page.evaluate("prefill.resetUser()")
    assert out["success"] is True and out["userId"] is None and out["visitorId"] == visitor
    show(page)
    frame = panel_frame(page)
    assert frame.locator("#email").input_value() == "" and frame.locator("#email").is_editable()
    page.route("**/api/**", lambda route: route.abort())
    failed = page.evaluate("prefill.identify({userId: 'u1'})")
    assert failed["success"] is False and failed["error"]["code"] == "network_error"
    assert page.evaluate("prefill.showForm('')")["success"] is False  # a bad call resolves, never throws


def test_a_signed_embed_link_works_in_a_cross_site_frame_once(env):
    token = sign_identity_token(SECRET, "u5", {"email": "five@example.com", "plan": "enterprise",
                                               "jti": uuid.uuid4().hex}, ttl_s=300)
    env["tokens"].append(token)
    page = env["context"].new_page()
    page.goto(f"{env['site'].origin}/frame?token={token}")
    frame = page.frame_locator("#f")
    frame.locator("form.prefill-form #email").wait_for()
    assert frame.locator("#email").input_value() == "five@example.com"
    assert frame.locator("#priority option").all_inner_texts()[1] == "Critical"
    inner = next(f for f in page.frames if f.url.startswith(env["prefill"]))
    assert "#" not in inner.url and "token" not in inner.url  # gone from the address bar
    frame.locator("#subject").fill("From the app")
    frame.locator("#priority").select_option("high")
    frame.locator("#message").fill("Framed.")
    frame.locator("button[type=submit]").click()
    frame.locator(".thanks").wait_for()  # no "form expired": the post carries the bearer session
    again = env["context"].new_page()
    again.goto(f"{env['site'].origin}/frame?token={token}")
    notice = again.frame_locator("#f").locator(".notice")
    notice.wait_for()
    assert "already used" in notice.inner_text()
    with env["app"].extensions["prefill"].db.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT owner_id, verified FROM submissions")).all()
    assert [(r.owner_id, bool(r.verified)) for r in rows] == [("u5", True)]


def test_foreign_messages_are_ignored_and_unlisted_sites_are_refused(env, browser):
    page = host(env, user="u1", plan="enterprise")
    # A message that claims to come from the panel, posted by the host page itself: ignored.
    show(page)
    panel_frame(page)
    page.evaluate("window.postMessage({type: 'prefill:frame', event: 'submitted', data: {id: 'sub_fake'}}, '*')")
    page.wait_for_timeout(200)
    assert not any(entry[0] == "formSubmitted" for entry in page.evaluate("log"))
    # A page of another origin frames the panel and hands it a valid session: it stays waiting.
    token = page.evaluate(f"localStorage.getItem('prefill:session:{env['prefill']}')")
    env["tokens"].append(token)
    foreign = Site()
    foreign.prefill = env["prefill"]
    try:
        context = browser.new_context()
        evil = context.new_page()
        evil.goto(f"{foreign.origin}/foreign")
        evil.frame_locator("#f").locator(".loading").wait_for()
        evil.evaluate("t => document.getElementById('f').contentWindow.postMessage("
                      f"{{type: 'prefill:session', token: t}}, {json.dumps(env['prefill'])})", token)
        evil.wait_for_timeout(500)
        assert evil.frame_locator("#f").locator("form.prefill-form").count() == 0
        # The same foreign site loading widget.js: its API calls are refused.
        evil.goto(f"{foreign.origin}/?user=u1")
        evil.wait_for_function("log.some(function(l){return l[0]==='identify'})")
        identify = next(entry[1] for entry in evil.evaluate("log") if entry[0] == "identify")
        assert identify["success"] is False
        context.close()
    finally:
        foreign.server.shutdown()
    assert any(line.startswith("OPTIONS /api/session") for line in env["log"].lines)


def test_the_open_panel_passes_axe_and_escape_returns_focus(env, browser):
    context = browser.new_context(bypass_csp=True)  # axe is injected into Prefill's frame too
    env["context"].close()
    env["context"] = context
    page = host(env, user="u1", plan="enterprise", launcher="support_ticket")
    launcher = page.locator("#prefill-launcher")
    assert launcher.get_attribute("aria-expanded") == "false" and launcher.inner_text() == "Support"
    launcher.click()
    panel_frame(page)
    assert launcher.get_attribute("aria-expanded") == "true"
    page.wait_for_function("document.activeElement && document.activeElement.tagName === 'IFRAME'")
    inner = next(f for f in page.frames if f.url.startswith(env["prefill"]))
    assert inner.evaluate("document.activeElement.id") == "name"  # the first field one can type in
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
    # Each document on its own: axe's messaging into a cross-origin frame can wait a minute or more.
    run = (f"axe.run(document, {{iframes: false, runOnly: {{type: 'tag', values: {json.dumps(tags)}}}}})"
           ".then(r => r.violations)")
    for target in (page, inner):
        target.add_script_tag(path=str(AXE))
        violations = target.evaluate(run)
        assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    # Focus is in the frame: its script asks the widget to close. The key goes down there and up
    # on the page (a keyup sent into a frame removed meanwhile would hang Playwright's press()).
    page.keyboard.down("Escape")
    page.locator("#prefill-panel").wait_for(state="detached")
    page.keyboard.up("Escape")
    assert page.evaluate("document.activeElement.id") == "prefill-launcher"
    assert launcher.get_attribute("aria-expanded") == "false"
    assert any(entry[1] == "prefill:formClosed" for entry in page.evaluate("log") if entry[0] == "message")
    # On a phone the panel fills the screen.
    page.set_viewport_size({"width": 375, "height": 740})
    launcher.click()
    panel_frame(page)
    box = page.locator("#prefill-panel").bounding_box()
    assert box["width"] == 375 and box["height"] == 740


def test_adhoc_and_client_side_providers_use_the_engine_rules(env):
    page = host(env, user="u1", plan="enterprise")
    out = page.evaluate("""prefill.showForm({title: 'Beta feedback', lockKnown: true, fields: [
        {name: 'email', type: 'email'}, {name: 'liked', type: 'textarea', required: true}]})""")
    assert out == {"success": True}
    frame = panel_frame(page)
    assert frame.locator("#email").input_value() == "u1@example.com"
    assert frame.locator("#email").get_attribute("readonly") is not None
    frame.locator("#liked").fill("The widget")
    frame.locator("button[type=submit]").click()
    frame.locator(".thanks").wait_for()
    page.wait_for_function("log.some(function(l){return l[0]==='formSubmitted'})")
    # A client-side provider runs with the sanitized identity; a server provider of the same name wins.
    page.evaluate("""prefill.registerFormSchema({
        nps: function (args, user) { return {title: 'Hi ' + user.userId, fields: [{name: 'score', type: 'number'}]}; },
        support_ticket: function () { return {title: 'Client copy', fields: [{name: 'x'}]}; }})""")
    assert page.evaluate("prefill.showForm('nps')") == {"success": True}
    assert page.locator("#prefill-panel iframe").get_attribute("title") == "Hi u1"
    assert page.evaluate("prefill.showForm('support_ticket')") == {"success": True}
    assert page.locator("#prefill-panel iframe").get_attribute("title") == "Contact support"
    # Inside a container of the page instead of the floating panel.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div id=slot></div>')")
    assert page.evaluate("prefill.showForm('refund', {container: '#slot'})") == {"success": True}
    assert page.locator("#slot #prefill-panel iframe").get_attribute("title") == "Request a refund"
    bad = page.evaluate("prefill.showForm({fields: [{name: 'a b'}]})")
    assert bad["success"] is False and bad["error"]["code"] == "invalid_schema"


def test_widget_js_is_small():
    size = len(__import__("gzip").compress(Path(ROOT / "static" / "widget.js").read_bytes(), 9))
    assert size < 8 * 1024, size


def test_the_demo_shop_shows_the_widget_for_the_sample_users(sqlite_url, browser):
    """``make run``'s demo: sign in as a sample user on the demo page and open the panel.
    ``PREFILL_SCREENSHOTS=docs/images`` also saves the README's picture of it."""
    wipe(sqlite_url)
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "demo", "AUTO_MIGRATE": False,
                      "RATELIMIT_ENABLED": False, "IDENTITY_SECRET": SECRET, "PREFILL_DEMO": True})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{srv.server_port}/")
        page.get_by_role("link", name="a demo shop page").click()
        page.get_by_role("button", name="Erin (enterprise plan, signed)").click()
        page.get_by_text("Signed in as demo-ent-1 (verified).").wait_for()
        page.get_by_role("button", name="Support").click()
        frame = panel_frame(page)
        # No wait: the frame never shows the page's cookie identity first (it once did, same-origin).
        assert frame.locator("#email").input_value() == "erin@example.com"
        assert frame.locator("#company").input_value() == "Big Corp"
        assert "Critical" in frame.locator("#priority option").all_inner_texts()
        page.get_by_text("formShown").first.wait_for()
        shots = os.environ.get("PREFILL_SCREENSHOTS")
        if shots:
            page.wait_for_timeout(300)
            page.screenshot(path=str(Path(shots) / "widget.png"))
    finally:
        context.close()
        srv.shutdown()
        app.extensions["prefill"].db.dispose()


def test_the_panel_grows_when_a_rule_shows_a_field_and_hidden_values_stay_home(env):
    """An ad-hoc form with a rule, in the panel: answering shows a field, the frame
    (sized by embed.js from its content) grows, and the field's value is kept
    only while it is shown."""
    page = host(env, user="u1", plan="enterprise")
    out = page.evaluate("""prefill.showForm({title: 'Report', fields: [
        {name: 'kind', type: 'radio', required: true, options: [
            {label: 'Question', value: 'question'}, {label: 'Bug', value: 'bug'}]},
        {name: 'steps', type: 'textarea', label: 'Steps to reproduce', required: true,
         visibleIf: {'==': [{var: 'kind'}, 'bug']}},
        {name: 'areas', type: 'checkboxes',
         options: [{label: 'App', value: 'app'}, {label: 'API', value: 'api'}]}]})""")
    assert out == {"success": True}
    frame = panel_frame(page)
    iframe = page.locator("#prefill-panel iframe")
    assert not frame.locator("#steps").is_visible()
    inner = next(f for f in page.frames if f.url.startswith(env["prefill"]))
    tall = "Math.ceil(document.body.getBoundingClientRect().bottom)"
    fits = "h => Math.abs(document.querySelector('#prefill-panel iframe').offsetHeight - h) <= 1"
    before = inner.evaluate(tall)
    page.wait_for_function(fits, arg=before)  # the frame is as tall as its form
    frame.locator("#kind-1").check()
    frame.locator("#steps").wait_for()
    after = inner.evaluate(tall)
    assert after >= before + frame.locator("#steps").bounding_box()["height"]
    page.wait_for_function(fits, arg=after)  # and grew with it
    assert iframe.bounding_box()["height"] >= after - 1
    frame.locator("#steps").fill("Click twice.")
    frame.locator("#kind-0").check()  # hidden again: a required field that must not block the submit
    frame.locator("#areas-1").check()
    frame.locator("button[type=submit]").click()
    frame.locator(".thanks").wait_for()
    page.wait_for_function("log.some(function(l){return l[0]==='formSubmitted'})")
    with env["app"].extensions["prefill"].db.connect() as conn:
        from sqlalchemy import text

        values = json.loads(conn.execute(text('SELECT "values" FROM submissions')).scalar())
    assert values == {"kind": "question", "areas": ["api"]}
