"""Real headless Chromium (Debian's, driven by Playwright) against a served app."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import SECRET, TEST_PROVIDERS, proof, wipe

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")


@pytest.fixture
def server(sqlite_url: str) -> Iterator[str]:
    wipe(sqlite_url)
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "browser", "AUTO_MIGRATE": False,
                      "RATELIMIT_ENABLED": False, "IDENTITY_SECRET": SECRET, "PREFILL_BUILTIN_FORMS": True,
                      "PREFILL_PROVIDER_MODULES": [TEST_PROVIDERS]})

    @app.get("/_test/host")
    def host() -> str:
        return '<!doctype html><h1>Host</h1><iframe id="f" src="/forms/support_ticket?embed=1"></iframe>'

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    app.extensions["prefill"].db.dispose()
    app.extensions["prefill"].sessions.read_engine.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    p = context.new_page()
    yield p
    context.close()


def sign_in(page: Any, base: str, user_id: str = "u1", **claims: Any) -> None:
    r = page.request.post(f"{base}/api/identify", data={
        "userId": user_id, "email": "known@example.com", "name": "Ann", **proof(user_id, **claims)})
    assert r.status == 200 and r.json()["verified"] is True


def test_prefilled_locked_form_submits_end_to_end(page, server):
    sign_in(page, server)
    page.goto(f"{server}/forms/support_ticket?subject=Invoice")
    email = page.locator("#email")
    assert email.input_value() == "known@example.com"
    assert email.get_attribute("readonly") is not None and email.is_editable() is False
    assert page.locator("#name").input_value() == "Ann" and page.locator("#name").is_editable()
    assert page.locator("#subject").input_value() == "Invoice"
    assert page.locator("#priority option").all_inner_texts() == ["Choose…", "High", "Normal", "Low"]
    page.locator("#email").press_sequentially("x")  # readonly: typing changes nothing
    assert email.input_value() == "known@example.com"
    page.select_option("#priority", "high")
    page.fill("#message", "The export button does nothing.")
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks?ref=*")
    ref = page.locator(".reference").inner_text()
    items = page.request.get(f"{server}/api/submissions").json()["items"]
    assert items[0]["id"] == ref and items[0]["values"]["message"] == "The export button does nothing."


def test_lock_is_enforced_on_the_server_when_dom_is_tampered(page, server):
    sign_in(page, server)
    page.goto(f"{server}/forms/support_ticket")
    page.evaluate("""() => { const e = document.querySelector('#email');
                             e.removeAttribute('readonly'); e.value = 'attacker@evil.test'; }""")
    page.select_option("#priority", "low")
    page.fill("#message", "m")
    page.fill("#subject", "s")
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks?ref=*")
    items = page.request.get(f"{server}/api/submissions").json()["items"]
    assert items[0]["values"]["email"] == "known@example.com"


def test_server_errors_rerender_with_input_kept(page, server):
    sign_in(page, server)
    page.goto(f"{server}/forms/support_ticket")
    page.evaluate("() => { document.querySelector('form').noValidate = true; }")  # skip browser checks
    page.fill("#subject", "Kept")
    page.click("button[type=submit]")
    assert page.locator("#message-errors").inner_text().startswith("This field is required")
    assert page.locator("#subject").input_value() == "Kept"
    assert page.locator("#email").input_value() == "known@example.com"


def test_browser_validation_blocks_empty_required_fields(page, server):
    page.goto(f"{server}/forms/support_ticket")
    page.click("button[type=submit]")
    assert "/thanks" not in page.url
    assert page.evaluate("() => document.querySelector('#message').validity.valueMissing") is True


def test_enterprise_user_sees_critical_priority(page, server):
    sign_in(page, server, "ent", plan="enterprise")
    page.goto(f"{server}/forms/support_ticket")
    assert page.locator("#priority option").all_inner_texts() == ["Choose…", "Critical", "High", "Normal"]


def test_same_site_iframe_embed_works(page, server):
    sign_in(page, server)
    page.goto(f"{server}/_test/host")
    frame = page.frame_locator("#f")
    assert frame.locator("#email").input_value() == "known@example.com"
    frame.locator("#subject").fill("From iframe")
    frame.locator("#priority").select_option("normal")
    frame.locator("#message").fill("embedded")
    frame.locator("button[type=submit]").click()
    frame.locator(".reference").wait_for()
    assert frame.locator(".reference").inner_text().startswith("sub_")


def test_foreign_origin_cannot_frame_the_form(page, server):
    html = f'<!doctype html><iframe id="f" src="{server}/forms/support_ticket?embed=1"></iframe>'.encode()

    class Host(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/")
        page.wait_for_timeout(500)
        child = [f for f in page.frames if f != page.main_frame]
        assert child, "the iframe element should exist"
        assert all(f.query_selector("form[data-form]") is None for f in child)
    finally:
        other.shutdown()


PATTERN_CORPUS = [
    "[A-Z0-9-]{3,20}", "[A-Z0-9\\-]{3,20}", "[a-z]+", "[0-9+ ]{6,20}", "[(]", "[\\(]", "[a|b]", "[-a]", "[a-]",
    "[a-z-0]", "[^a-z]", "a(b|c)", "[a&&b]", "[\\w.]+@x", "[.]", "[/]", "[a{2}]", "[^-a]", "[]a]", "(a+)+",
    "a{", "a{2,3}", "a]", "(?P<x>a)", "(?<x>a)", "[a-\\]]", "\\d{4}-\\d{2}", "[a-z]{2}-[0-9]+", "x|y|z",
]


def test_the_pattern_rule_agrees_with_chromium(page, server):
    import re

    from forms.patterns import browser_problem

    def accepted(pattern: str) -> bool:  # what the schema accepts: browsers would compile it, Python does
        if browser_problem(pattern) is not None:
            return False
        try:
            re.compile(pattern)
        except re.error:
            return False
        return True

    page.goto(f"{server}/forms/refund")
    # Browsers compile these, but they cannot mean the same on the server: an
    # intersection (Python reads && literally), a named group Python writes (?P<x>).
    other_meaning = {"[a&&b]", "(?<x>a)"}
    for pattern in PATTERN_CORPUS:
        compiles = page.evaluate(
            "p => { try { new RegExp('^(?:' + p + ')$', 'v'); return true } catch (e) { return false } }", pattern)
        if pattern in other_meaning:
            assert compiles is True and not accepted(pattern)
        else:
            assert compiles is accepted(pattern), pattern


def test_every_built_in_pattern_is_enforced_by_chromium(page, server):
    from forms.identity import ANONYMOUS
    from schema_providers import builtin

    checked = 0
    for provider in (builtin.support_ticket, builtin.refund):
        for field in provider.fn({}, ANONYMOUS)["fields"]:
            if "pattern" not in field:
                continue
            page.goto(f"{server}/forms/{provider.name}")
            box = page.locator(f"#{field['name']}")
            box.fill("not valid!")
            assert box.evaluate("el => el.validity.patternMismatch") is True, field
            box.fill("AB-123")
            assert box.evaluate("el => el.validity.patternMismatch") is False, field
            checked += 1
    assert checked >= 1
