"""Conditional fields and multi-selects on the HTML pages, in real Chromium
against a running app: fields appear and disappear as the user answers (focus
and typed text kept, hidden ones out of the tab order and the accessibility
tree, values not posted, an appearance announced); the server decides again at
submit whatever the page did (a field unhidden in devtools, a tampered locked
value, a hidden required field); without JavaScript every field shows and the
server applies the rules; and the browser's decision equals the server's for
random forms and answers."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from playwright.sync_api import expect
from sqlalchemy import text
from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server

from app import create_app
from forms.conditions import answers_of, decide
from forms.identity import Identity
from forms.resolve import resolve
from forms.schema import load_schema
from forms.wtf import values_from_formdata
from tests.conftest import SECRET, TEST_PROVIDERS, proof, wipe
from tests.test_form_browser import axe
from web.render.pages import render_form

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")
FORM = "conditional_ticket"
MARK = "devtools-7c1e"  # a value typed into a field the server hides: stored nowhere


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from store.db import make_engine, migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('conditions') / 'db.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    wipe(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "conditions", "AUTO_MIGRATE": False,
                      "RATELIMIT_ENABLED": False, "IDENTITY_SECRET": SECRET,
                      "PREFILL_PROVIDER_MODULES": [TEST_PROVIDERS, "tests.providers_pages"]})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield {"base": f"http://127.0.0.1:{srv.server_port}", "app": app}
    srv.shutdown()
    app.extensions["prefill"].db.dispose()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """``new_page(javascript=True, width=1024)``: a page in its own context, closed after the test."""
    made: list[Any] = []

    def new(javascript: bool = True, width: int = 1024) -> Any:
        made.append(browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900}))
        return made[-1].new_page()

    yield new
    for ctx in made:
        ctx.close()


def sign_in(page: Any, base: str, user: str = "u1", trusted: dict | None = None, **claimed: Any) -> None:
    body: dict[str, Any] = {"userId": user, "userMetadata": claimed}
    if trusted:
        body.update(proof(user, **trusted))
    assert page.request.post(f"{base}/api/identify", data=body).ok


def stored(site: dict[str, Any]) -> list[dict[str, Any]]:
    with site["app"].extensions["prefill"].db.connect() as conn:
        rows = conn.execute(text('SELECT "values" FROM submissions ORDER BY created_at')).all()
    return [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]


def everything_stored(site: dict[str, Any]) -> str:
    with site["app"].extensions["prefill"].db.connect() as conn:
        rows = conn.execute(text("SELECT * FROM submissions")).all()
        outbox = conn.execute(text("SELECT * FROM webhook_deliveries")).all()
    return repr(rows) + repr(outbox)


def shown(page: Any, name: str) -> bool:
    return page.evaluate(f"!document.querySelector('[data-field={name}]').closest('[hidden]')")


def open_form(page: Any, base: str) -> None:
    page.goto(f"{base}/forms/{FORM}")  # after "load": the deferred scripts ran
    assert page.evaluate("!!window.PrefillConditions")


def post_of(page: Any, act: Any) -> dict[str, list[str]]:
    """The form body the browser posts while ``act()`` runs."""
    with page.expect_request(lambda r: r.method == "POST" and f"/forms/{FORM}" in r.url) as info:
        act()
    return parse_qs(info.value.post_data or "", keep_blank_values=True)


# -- in the page ---------------------------------------------------------------------------
def test_fields_appear_as_answered_keeping_focus_and_text_and_are_announced(new_page, site):
    page = new_page()
    open_form(page, site["base"])
    for name in ("invoice", "refund", "amount", "steps", "vat"):
        assert not shown(page, name), name  # nothing chosen yet
    assert not page.locator("label.choice", has_text="Outage").is_visible()  # its rule reads plan: unknown
    page.check("#category-0")  # Billing
    assert shown(page, "invoice") and shown(page, "refund") and not shown(page, "amount")
    assert page.evaluate("document.activeElement.id") == "category-0"  # focus stays where the user is
    live = page.locator("[data-announce]")
    assert live.get_attribute("aria-live") == "polite"
    expect(live).to_contain_text("Invoice number")  # polled: the page's CSP allows no eval
    assert "I want a refund" in live.inner_text()
    page.fill("#invoice", "INV-42")
    page.keyboard.press("Tab")  # from the invoice to the refund checkbox: the hidden amount is not in between
    assert page.evaluate("document.activeElement.id") == "refund"
    page.keyboard.press("Space")
    assert shown(page, "amount") and page.evaluate("document.activeElement.id") == "refund"
    assert page.locator("#amount").get_attribute("required") is not None  # required while shown
    page.check("#category-1")  # Bug: the billing fields go, their text stays for later
    assert not shown(page, "invoice") and not shown(page, "amount") and shown(page, "steps")
    assert page.locator("#invoice").is_disabled() and page.locator("#amount").is_disabled()
    page.check("#category-0")
    assert page.locator("#invoice").input_value() == "INV-42" and page.locator("#refund").is_checked()


def test_a_hidden_field_is_out_of_the_tab_order_and_the_accessibility_tree(new_page, site):
    page = new_page()
    open_form(page, site["base"])
    page.check("#category-1")  # Bug: steps shown, invoice hidden

    def names() -> set[str]:
        cdp = page.context.new_cdp_session(page)
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        return {n.get("name", {}).get("value") for n in nodes if not n.get("ignored")}

    assert "Steps to reproduce" in names() and "Invoice number" not in names()
    page.focus("#category-1")
    page.keyboard.press("Tab")
    # The next stop is the products group: invoice, refund and amount are skipped.
    assert page.evaluate("document.activeElement.id") == "products-0"
    page.check("#category-0")
    assert "Invoice number" in names() and "Steps to reproduce" not in names()


def test_required_if_and_the_star_follow_the_answers(new_page, site):
    page = new_page()
    open_form(page, site["base"])
    page.check("#category-1")
    star = page.locator("[data-field=steps] .req")
    assert page.locator("#steps").get_attribute("required") is None and not star.is_visible()
    page.check("#products-1")  # API: steps required
    assert page.locator("#steps").get_attribute("required") is not None and star.is_visible()
    page.uncheck("#products-1")
    assert page.locator("#steps").get_attribute("required") is None and not star.is_visible()


def test_a_hidden_required_field_does_not_block_the_submit_and_hidden_values_are_not_posted(new_page, site):
    """Invoice and amount are required while shown; the browser's own checks stay on."""
    page = new_page()
    open_form(page, site["base"])
    page.fill("#email", "ann@example.com")
    page.check("#category-0")
    page.fill("#invoice", MARK)  # typed, then hidden by another answer
    page.check("#refund")
    page.fill("#amount", "12")
    page.uncheck("#refund")
    page.check("#category-1")
    page.fill("#steps", "Open the app.")
    page.select_option("#tags", ["urgent", "question"])
    page.check("#products-0")
    page.check("#products-2")
    page.fill("#message", "It broke.")
    body = post_of(page, lambda: page.locator("button[type=submit]").click())
    page.locator(".thanks").wait_for()
    assert "invoice" not in body and "amount" not in body and "refund" not in body
    assert body["tags"] == ["urgent", "question"] and body["products"] == ["app", "dashboard"]
    last = stored(site)[-1]
    assert last["category"] == "bug" and last["tags"] == ["urgent", "question"]
    assert last["products"] == ["app", "dashboard"] and "invoice" not in last and "amount" not in last
    sent = page.locator(".sent").inner_text()
    assert "Urgent, Question" in sent and "App, Dashboard" in sent  # labels, in one line


def test_a_field_unhidden_in_devtools_loses(new_page, site):
    """The client removes hidden and disabled and posts a value: the server, deciding
    again on the answers, drops it (stored nowhere, not in the webhook outbox)."""
    page = new_page()
    open_form(page, site["base"])
    page.fill("#email", "ann@example.com")
    page.check("#category-1")
    page.fill("#steps", "Steps.")
    page.select_option("#tags", "question")
    page.fill("#message", "Hello.")
    page.evaluate("""mark => { const box = document.querySelector('[data-field=invoice]');
        box.hidden = false; box.removeAttribute('data-visible-if');
        const input = box.querySelector('input'); input.disabled = false; input.value = mark; }""", MARK)
    body = post_of(page, lambda: page.locator("button[type=submit]").click())
    assert body["invoice"] == [MARK]  # the tampered page did post it
    page.locator(".thanks").wait_for()
    assert MARK not in everything_stored(site)


def test_a_tampered_locked_value_does_not_unhide_a_field_on_the_server(new_page, site):
    """Region is locked to "us" (vat hidden) and plan is known to be "free" (outage
    hidden). The page is told otherwise: its script shows vat and outage, the
    server does not."""
    page = new_page()
    sign_in(page, site["base"], trusted={"plan": "free"}, region="us", email="ann@example.com")
    open_form(page, site["base"])
    assert page.locator("#plan").get_attribute("type") == "hidden"  # known, not asked
    assert not page.locator("[data-field=plan]").is_visible() and not shown(page, "vat")
    assert page.locator("#region").input_value() == "United States"  # locked: read-only text
    page.evaluate("""() => {
        document.querySelector('[data-field=region]').setAttribute('data-value', '"eu"');
        document.querySelector('#region').value = 'eu';
        document.querySelector('[data-field=plan]').setAttribute('data-value', '"enterprise"');
        document.querySelector('#plan').value = 'enterprise';
        document.querySelector('#region').dispatchEvent(new Event('input', {bubbles: true})); }""")
    assert shown(page, "vat") and page.locator("label.choice", has_text="Outage").is_visible()
    page.fill("#vat", MARK)
    page.select_option("#tags", "urgent")
    page.fill("#message", "Hello.")
    page.check("#category-0")
    page.fill("#invoice", "INV-1")
    page.locator("button[type=submit]").click()
    page.locator(".thanks").wait_for()
    assert MARK not in everything_stored(site)
    last = stored(site)[-1]
    assert last["region"] == "us" and last["plan"] == "free" and "vat" not in last
    # The outage option the page unhid is no valid choice on the server.
    open_form(page, site["base"])
    page.evaluate("""() => { document.querySelector('[data-field=plan]').setAttribute('data-value', '"enterprise"');
        document.querySelector('#plan').dispatchEvent(new Event('input', {bubbles: true})); }""")
    page.check("#category-2")
    page.select_option("#tags", "urgent")
    page.fill("#message", "Down.")
    page.locator("button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.locator("[data-field=category] .errors").inner_text() == "Not a valid choice."
    assert not page.locator("label.choice", has_text="Outage").is_visible()  # the server's decision, rendered


def test_a_chosen_option_its_rule_hides_is_unchosen(new_page, site):
    page = new_page()
    open_form(page, site["base"])
    page.select_option("#plan", "enterprise")  # not known for an anonymous user: asked, and the outage option shows
    page.check("#category-2")
    assert page.locator("#category-2").is_checked()
    page.select_option("#plan", "free")
    assert not page.locator("label.choice", has_text="Outage").is_visible()
    assert not page.locator("#category-2").is_checked() and page.locator("#category-2").is_disabled()
    assert page.evaluate("[...new FormData(document.querySelector('form')).keys()]").count("category") == 0


def test_an_enterprise_user_sees_the_outage_option_and_a_multi_select_prefills_and_locks(new_page, site):
    page = new_page()
    sign_in(page, site["base"], user="u2", trusted={"plan": "enterprise", "tags": ["urgent", "feedback"]},
            region="eu", email="e@example.com")
    page.goto(f"{site['base']}/forms/{FORM}")
    assert page.locator("label.choice", has_text="Outage").is_visible()
    assert shown(page, "vat")  # region is locked to eu
    tags = page.locator("#tags")  # locked, multi: one read-only text with the labels
    assert tags.input_value() == "Urgent, Feedback" and tags.get_attribute("readonly") is not None


# -- without JavaScript ------------------------------------------------------------------------
def test_without_javascript_every_field_shows_and_the_server_applies_the_rules(new_page, site):
    page = new_page(javascript=False)
    page.goto(f"{site['base']}/forms/{FORM}")
    assert page.locator(".field[hidden]").count() == 0
    for name in ("invoice", "amount", "steps", "vat"):
        assert page.locator(f"#{name}").is_visible(), name
    # No browser check for a field a rule may hide: required while shown, said by the server.
    assert page.locator("#invoice").get_attribute("required") is None
    page.fill("#email", "nojs@example.com")
    page.check("#category-0")  # Billing, with no invoice number; steps typed anyway
    page.fill("#steps", MARK)
    page.select_option("#tags", "feedback")
    page.fill("#message", "No script here.")
    page.locator("button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.locator(".error-summary li").all_inner_texts() == ["Invoice number: This field is required."]
    # The server hid what it decided is hidden for these answers; what was typed stays.
    assert not page.locator("#steps").is_visible() and not page.locator("#amount").is_visible()
    assert page.locator("#invoice").is_visible() and page.locator("#category-0").is_checked()
    assert page.locator("#invoice").get_attribute("aria-invalid") == "true"
    page.fill("#invoice", "INV-7")
    page.locator("button[type=submit]").click()
    page.locator(".thanks").wait_for()
    last = stored(site)[-1]
    assert last["invoice"] == "INV-7" and last["tags"] == ["feedback"] and "steps" not in last
    assert MARK not in everything_stored(site)


def test_after_a_failed_post_the_summary_never_names_a_hidden_field(new_page, site):
    """Amount is required and empty, but hidden (no refund): not named, not shown."""
    page = new_page()
    open_form(page, site["base"])
    page.evaluate("document.querySelector('form').noValidate = true")
    page.check("#category-1")
    page.locator("button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    summary = page.locator(".error-summary li").all_inner_texts()
    assert summary == ["Email: This field is required.", "Tags: This field is required.",
                       "Message: This field is required."]
    assert page.evaluate("document.querySelector('[data-field=amount]').hidden")
    assert page.evaluate("document.querySelector('[data-field=invoice]').hidden")
    page.check("#category-0")  # the script takes over from the server's decision
    assert shown(page, "invoice") and page.locator("#invoice").is_enabled()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_in_any_state_of_the_form(browser, site, scheme):
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)  # axe is injected
    try:
        page = context.new_page()
        problems = {}

        def check(state: str) -> None:
            found = axe(page)
            if found:
                problems[state] = found

        open_form(page, site["base"])
        check("nothing answered")
        page.check("#category-0")
        page.check("#refund")
        check("billing, with a refund")
        page.check("#category-1")
        page.check("#products-1")
        check("bug, steps required")
        page.evaluate("document.querySelector('form').noValidate = true")
        page.locator("button[type=submit]").click()
        page.locator(".error-summary").wait_for()
        check("after a failed post")
        sign_in(page, site["base"], user="u3", trusted={"plan": "enterprise", "tags": ["urgent"]}, region="eu")
        open_form(page, site["base"])
        check("known and locked")
        assert problems == {}
    finally:
        context.close()


# -- layout, on the real page ------------------------------------------------------------------
def test_choice_groups_are_one_option_per_line_and_hidden_options_take_no_room(new_page, site, tmp_path):
    page = new_page(width=1280)
    open_form(page, site["base"])
    boxes = [page.locator(f"label.choice:has(#products-{i})").bounding_box() for i in range(3)]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # stacked, not in a row
    weights = page.evaluate("[...document.querySelectorAll('[data-field=products] label.choice')]"
                            ".map(l => getComputedStyle(l).fontWeight)")
    assert weights == ["400", "400", "400"]
    outage = page.locator("label.choice", has_text="Outage")
    assert outage.bounding_box() is None  # display: none, whatever .choice says
    multi = page.locator("#tags").bounding_box()
    assert multi["height"] > 60  # a list box showing several options
    shots = os.environ.get("PREFILL_SCREENSHOTS")
    page.check("#category-0")
    page.check("#refund")
    page.screenshot(path=str(Path(shots or tmp_path) / "conditional-form.png"), full_page=True)


# -- the browser decides as the server does ----------------------------------------------------
POOL = ["a", "b", "1", "2.5", ""]


@st.composite
def forms_and_answers(draw):
    """A form whose rules name earlier fields, and what to do on each control."""
    names = [f"f{i}" for i in range(draw(st.integers(2, 6)))]
    fields = []
    for index, name in enumerate(names):
        ftype = draw(st.sampled_from(["text", "number", "select", "radio", "checkbox", "checkboxes", "multi"]))
        field: dict[str, Any] = {"name": name, "type": "select" if ftype == "multi" else ftype,
                                 "required": draw(st.booleans())}
        if ftype in ("select", "radio", "checkboxes", "multi"):
            field["options"] = [{"label": v or "none", "value": v or "z"} for v in ("a", "b", "1")]
            field["multiple"] = ftype == "multi"
        if index:
            earlier = names[:index]
            for key in ("visibleIf", "requiredIf"):
                if draw(st.booleans()):
                    field[key] = draw(rule(earlier))
            if "options" in field and draw(st.booleans()):
                field["options"][0]["visibleIf"] = draw(rule(earlier))
        fields.append(field)
    answers = [draw(st.lists(st.sampled_from(POOL), max_size=2)) for _ in names]
    return {"fields": fields}, answers


@st.composite
def rule(draw, earlier):
    var = {"var": draw(st.sampled_from(earlier))}
    literal = draw(st.sampled_from([None, True, False, 0, 1, 2.5, "a", "b", "1", "", [], ["a"]]))
    op = draw(st.sampled_from(["==", "!=", "===", "<", ">=", "in", "!", "!!", "missing"]))
    if op in ("!", "!!"):
        one: Any = {op: [var]}
    elif op == "missing":
        one = {"missing": [var["var"]]}
    elif op == "in":
        one = {"in": [draw(st.sampled_from(["a", "b", "1"])), var]}
    else:
        one = {op: [var, literal]}
    if draw(st.integers(0, 2)) == 0:
        return {draw(st.sampled_from(["and", "or"])): [one, draw(rule(earlier))]}
    return one


ANSWER = """([name, values]) => {
  const box = document.querySelector(`[data-field="${name}"]`);
  for (const c of box.querySelectorAll('input, select, textarea')) {
    if (c.type === 'checkbox' || c.type === 'radio') c.checked = values.includes(c.value) || (
      c.value === 'y' && values.length > 0);
    else if (c.tagName === 'SELECT') for (const o of c.options) o.selected = values.includes(o.value);
    else c.value = values[0] ?? '';
  }
}"""
SEEN = """() => {
  const form = document.querySelector('form');
  const out = {hidden: [], required: [], gone: {}, posted: [...new FormData(form)]};
  for (const box of form.querySelectorAll('[data-field]')) {
    const name = box.dataset.field;
    if (box.hidden) out.hidden.push(name);
    const control = box.querySelector('input:not([type=hidden]), select, textarea');
    if (!box.hidden && control && control.required) out.required.push(name);
    const gone = [...box.querySelectorAll('[data-visible-if]')].filter(el => el.hidden)
      .map(el => el.tagName === 'OPTION' ? el.value : el.querySelector('input').value);
    if (gone.length && !box.hidden) out.gone[name] = gone.sort();
  }
  return out;
}"""


@pytest.fixture(scope="module")
def page_for_rules(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site['base']}/forms/{FORM}")  # its origin, its scripts
    yield page
    context.close()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=forms_and_answers())
def test_the_page_decides_what_the_server_decides(page_for_rules, site, case):
    """For random rules and answers, what the page shows, requires and posts after its
    script ran is what the server decides for what it posts (forms.conditions)."""
    raw, answers = case
    app = site["app"]
    form = resolve("r", load_schema("r", raw), Identity(), app.extensions["prefill"].sensitive)
    with app.test_request_context("/forms/r"):
        html = render_form(form, Markup(""), False)
    page = page_for_rules
    body = re.search(r"<main>(.*)</main>", html, re.S).group(1)
    page.evaluate("html => { document.querySelector('main').innerHTML = html;"
                  " document.dispatchEvent(new Event('prefill:content')); }", body)
    for field, values in zip(form.fields, answers, strict=True):
        page.evaluate(ANSWER, [field.name, values])
        page.evaluate("name => document.querySelector(`[data-field='${name}'] input, [data-field='${name}'] select`)"
                      ".dispatchEvent(new Event('change', {bubbles: true}))", field.name)
    seen = page.evaluate(SEEN)
    posted = values_from_formdata(form, MultiDict(seen["posted"]))
    decision = decide(form.fields, answers_of(form.fields, posted))
    assert sorted(seen["hidden"]) == sorted(decision.hidden)
    managed = {f.name for f in form.fields if (f.visible_if or f.required_if) and f.type != "checkboxes"}
    assert sorted(n for n in seen["required"] if n in managed) == sorted(decision.required & managed)
    gone = {name: sorted(values) for name, values in decision.hidden_options.items() if name not in decision.hidden}
    assert seen["gone"] == gone
    event(f"hides a field: {bool(decision.hidden)}")
    event(f"hides an option: {bool(gone)}")
    event(f"requires by a rule: {bool(decision.required & managed)}")
