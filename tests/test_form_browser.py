"""Forms people can trust (issue 8), in real Chromium: axe-core on every page and
state (light and dark, desktop and 375 px), and the checks axe cannot make:
focus after a 422, descriptions read through the accessibility tree, locked
choices reachable by keyboard, computed contrast, one ticket per double click."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from app import ROOT, create_app
from tests.conftest import TEST_PROVIDERS, wipe

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from store.db import make_engine, migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('quality') / 'db.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    wipe(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "quality", "AUTO_MIGRATE": False, "RATELIMIT_ENABLED": False,
                      "PREFILL_DEMO": True, "PREFILL_PROVIDER_MODULES": [TEST_PROVIDERS]})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield {"base": f"http://127.0.0.1:{srv.server_port}", "app": app}
    srv.shutdown()
    app.extensions["prefill"].db.dispose()


def context(browser: Any, scheme: str = "light", width: int = 1024, height: int = 800) -> Any:
    return browser.new_context(bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": height})


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(scheme, width, height)``: a page in a new context, closed after the test."""
    made: list[Any] = []

    def new(scheme: str = "light", width: int = 1024, height: int = 800) -> Any:
        made.append(context(browser, scheme, width, height))
        return made[-1].new_page()

    yield new
    for ctx in made:
        ctx.close()


def axe(page: Any) -> list[tuple[str, list[str]]]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(f"axe.run(document, {{runOnly: {{type: 'tag', values: {TAGS!r}}}}}).then(r => r.violations)")
    return [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in found]


def sign_in(page: Any, base: str, **metadata: Any) -> None:
    r = page.request.post(f"{base}/api/identify", data={"userId": "u1", "userMetadata": metadata})
    assert r.ok


def failed_post(page: Any, base: str, name: str = "support_ticket") -> None:
    """A post the server refuses (the browser's own checks switched off)."""
    page.goto(f"{base}/forms/{name}")
    page.evaluate("document.querySelector('form').noValidate = true")
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/forms/{name}$"))
    page.locator(".error-summary").wait_for()


def thanks(page: Any, base: str) -> None:
    page.goto(f"{base}/forms/support_ticket")
    page.fill("#email", "ann@example.com")
    page.fill("#subject", "It broke")
    page.select_option("#priority", "high")
    page.fill("#message", "Details.")
    page.locator("button[type=submit]").click()
    page.locator(".thanks").wait_for()


STATES = {
    "form": lambda page, base: page.goto(f"{base}/forms/support_ticket"),
    "radios": lambda page, base: page.goto(f"{base}/forms/refund"),
    "after a 422": failed_post,
    "thanks": thanks,
    "404": lambda page, base: page.goto(f"{base}/forms/nope"),
    "index": lambda page, base: page.goto(f"{base}/"),
    "locked choices": lambda page, base: (sign_in(page, base, select="2", radio="b", checkbox=True, email="a@b.co"),
                                         page.goto(f"{base}/forms/all_types")),
    "embedded": lambda page, base: page.goto(f"{base}/forms/support_ticket?embed=1"),
}


@pytest.mark.parametrize("scheme,width", [("light", 1024), ("dark", 1024), ("light", 375), ("dark", 375)])
def test_axe_finds_nothing_on_any_page_or_state(open_page, site, scheme, width):
    page = open_page(scheme, width)
    problems = {}
    for state, go in STATES.items():
        go(page, site["base"])
        found = axe(page)
        if found:
            problems[state] = found
        # Nothing scrolls sideways (320 px: its own test).
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), state
    assert problems == {}


def test_after_a_422_focus_is_on_the_summary_and_controls_are_described(open_page, site):
    page = open_page()
    failed_post(page, site["base"])
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]

    def described(name: str) -> str:
        for node in nodes:
            role = node.get("role", {}).get("value")
            if node.get("name", {}).get("value") == name and role in ("textbox", "combobox"):
                invalid = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}.get("invalid")
                assert invalid == "true", name
                return node.get("description", {}).get("value", "")
        raise AssertionError(f"no control named {name!r}")

    assert "This field is required." in described("Subject")
    assert "This field is required." in described("Message")
    page.locator(".error-summary a", has_text="Subject").click()
    assert page.evaluate("document.activeElement.id") == "subject"


def test_a_locked_select_is_reached_with_tab_and_says_its_value(open_page, site):
    page = open_page()
    sign_in(page, site["base"], select="2")
    page.goto(f"{site['base']}/forms/all_types")
    page.focus("#textarea")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "select"
    cdp = page.context.new_cdp_session(page)
    node = next(n for n in cdp.send("Accessibility.getFullAXTree")["nodes"]
                if n.get("name", {}).get("value") == "Select")
    props = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
    assert node["value"]["value"] == "Two" and props.get("readonly") is True
    assert node.get("description", {}).get("value") == "From your sign-in"  # where the value came from


CONTRAST = """() => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const bg = getComputedStyle(document.body).backgroundColor;
  const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
  return {
    text: ratio(css('label[for=subject]', 'color'), bg),
    border: ratio(css('#subject', 'borderTopColor'), bg),
    lockedCue: ratio(css('#email', 'borderLeftColor'), bg),
    lockedText: ratio(css('#email', 'color'), css('#email', 'backgroundColor')),
    badge: ratio(css('.known', 'color'), css('.known', 'backgroundColor')),
    button: ratio(css('button[type=submit]', 'color'), css('button[type=submit]', 'backgroundColor')),
  };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_computed_contrast_of_borders_locked_cue_and_focus_ring(open_page, site, scheme):
    page = open_page(scheme)
    sign_in(page, site["base"], email="ann@example.com")
    page.goto(f"{site['base']}/forms/support_ticket")
    got = page.evaluate(CONTRAST)
    assert got["text"] >= 4.5 and got["lockedText"] >= 4.5 and got["badge"] >= 4.5 and got["button"] >= 4.5, got
    assert got["border"] >= 3 and got["lockedCue"] >= 3, got
    page.focus("#name")
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible
    assert page.evaluate("document.activeElement.id") == "company"
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor,
                getComputedStyle(document.body).backgroundColor]; }""")
    assert ring[0] == "solid" and float(ring[1].rstrip("px")) >= 2
    assert page.evaluate("([a, b]) => { const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);"
                         "const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ?"
                         " v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126*r + 0.7152*g + 0.0722*b; };"
                         "const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + .05) / (y + .05); }",
                         ring[2:]) >= 3
    assert page.evaluate("document.documentElement.style.colorScheme || getComputedStyle("
                         "document.documentElement).colorScheme") == scheme


def test_a_double_click_sends_one_ticket_and_the_counter_counts(open_page, site):
    page = open_page()
    page.goto(f"{site['base']}/forms/support_ticket")
    page.fill("#email", "double@example.com")
    page.fill("#subject", "Twice")
    page.select_option("#priority", "low")
    page.locator("#message").press_sequentially("Hello")
    assert page.locator("#message-counter").inner_text() == "9995 characters left"
    assert page.evaluate("document.querySelector('#message').rows") >= 2 and \
        page.locator("#message").bounding_box()["height"] >= 140
    page.locator("button[type=submit]").dblclick()
    page.locator(".thanks").wait_for()
    with site["app"].extensions["prefill"].db.connect() as conn:
        rows = conn.execute(text("SELECT COUNT(*) FROM submissions WHERE \"values\" LIKE '%double@%'")).scalar()
    assert rows == 1
    assert "Twice" in page.locator(".sent").inner_text()


def test_no_page_scrolls_sideways_at_320_px(open_page, site):
    page = open_page("light", 320, 640)
    for state, go in STATES.items():
        go(page, site["base"])
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), state


def test_dark_mode_can_be_forced_and_the_phone_button_is_full_width(open_page, site):
    page = open_page("light", 375, 740)
    page.goto(f"{site['base']}/forms/support_ticket?embed=1&theme=dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(22, 24, 29)"
    button = page.locator("button[type=submit]").bounding_box()
    assert button["width"] >= 375 - 2 * 16 - 1
    shots = os.environ.get("PREFILL_SCREENSHOTS")
    if shots:  # the README's pictures: light, dark, phone
        page.goto(f"{site['base']}/forms/support_ticket")
        page.screenshot(path=str(Path(shots) / "form-phone.png"), full_page=True)
        for scheme in ("light", "dark"):
            shot = open_page(scheme, 900, 1000)
            sign_in(shot, site["base"], email="ann@example.com", name="Ann")
            failed_post(shot, site["base"])
            shot.screenshot(path=str(Path(shots) / f"form-{scheme}.png"), full_page=True)
