"""docs/migrating.md's calls, written as other identify-style widgets' users write
them, run verbatim in Chromium on a page of another site than Prefill (third-party
cookies blocked) before widget.js has loaded: under IDENTITY_VERIFICATION=optional
every one passes and the user is claimed; under required, those that name a user
without a proof are refused with identity_unverified and a message that says what
to send."""

from __future__ import annotations

from typing import Any

from app import ROOT
from tests.test_widget_browser import panel_frame, pytestmark, running  # noqa: F401 (pytestmark: skip without Chromium)
from tests.test_widget_docs import snippet

GUIDE = ROOT / "docs" / "migrating.md"
CALLS = snippet("migration-calls", GUIDE)  # as printed

# What each call returned, recorded without changing the calls: the stub's methods, wrapped.
RECORD = """<script>
window.calls = [];
Object.keys(window.prefill).forEach(function (name) {
  var method = window.prefill[name];
  if (typeof method !== "function") return;
  window.prefill[name] = function () { var out = method.apply(this, arguments); calls.push([name, out]); return out; };
});
</script>"""

RESULTS = """async () => Promise.all(calls.map(async ([name, out]) =>
  [name, out instanceof Promise ? await out : out === null ? null : typeof out]))"""


def run_guide(env: dict[str, Any]) -> tuple[Any, dict[str, list[Any]], list[str]]:
    site = env["site"]
    head, widget = site.snippet().rsplit("<script async", 1)
    site.pages["/migrated"] = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
                               f"{head}{RECORD}</head><body><main><h1>Shop</h1></main>"
                               f"<script>\n{CALLS}</script><script async{widget}</body></html>")
    page = env["context"].new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{site.origin}/migrated")
    page.wait_for_function("window.prefill.loaded")
    assert page.evaluate("visitorId") is None  # the guide's getVisitorId(), before load
    results: dict[str, list[Any]] = {}
    for name, value in page.evaluate(RESULTS):
        results.setdefault(name, []).append(value)
    return page, results, console


def posted(env: dict[str, Any]) -> list[str]:
    return [line.split()[1] for line in env["log"].lines if line.startswith("POST /api/")]


def test_the_guide_s_calls_pass_verbatim_under_optional(sqlite_url, browser):
    with running(sqlite_url, browser, IDENTITY_VERIFICATION="optional") as env:
        page, results, console = run_guide(env)
        assert set(results) == {"identify", "updateUser", "updateSession", "update", "getVisitorId",
                                "registerFormSchema", "on", "showForm", "resetUser", "clearIdentity"}
        for name in ("identify", "updateUser", "updateSession", "update", "showForm", "resetUser", "clearIdentity"):
            for answer in results[name]:
                assert answer["success"] is True, (name, answer)
        for answer in results["identify"]:
            assert answer["userId"] == "user_8412" and answer["verified"] is False and answer["trustedKeys"] == []
            assert any("only claimed" in w for w in answer["warnings"])
        update = results["update"][0]
        assert update["userMetadata"] == {"email": "ana@example.com", "name": "Ana S.", "plan": "pro",
                                          "company": "Acme", "seats": 12}
        assert update["sessionMetadata"] == {"page": "billing", "step": "checkout"}
        assert results["resetUser"][0]["userId"] is None and results["clearIdentity"][0]["userId"] is None
        assert results["on"] == ["function"] and results["registerFormSchema"] == ["undefined"]
        assert results["getVisitorId"] == [None]
        # The client-side form is shown; the message handler heard the events.
        panel_frame(page)
        assert page.locator("#prefill-panel iframe").get_attribute("title") == "How likely are you to recommend us?"
        heard = {line.split()[-1] for line in console if line.startswith("widget message ")}
        assert {"prefill:ready", "prefill:identityUpdate", "prefill:formShown"} <= heard
        assert "prefill:error" not in heard
        assert posted(env) == ["/api/session", "/api/identify", "/api/identify", "/api/user",
                               "/api/session/metadata", "/api/update", "/api/reset", "/api/reset"]


def test_the_guide_s_calls_are_refused_with_a_clear_error_under_required(sqlite_url, browser):
    with running(sqlite_url, browser, IDENTITY_VERIFICATION="required") as env:
        _, results, console = run_guide(env)
        for answer in [*results["identify"], *results["update"]]:
            assert answer["success"] is False and answer["error"]["code"] == "identity_unverified"
            assert answer["error"]["message"] == ("Identity verification is required: send the userHash or "
                                                  "identityToken your backend made for this userId.")
        assert results["updateUser"][0]["error"] == {"code": "not_identified",
                                                     "message": "The session has no user yet; call identify first."}
        # What names no user works for the anonymous visitor.
        for name in ("updateSession", "showForm", "resetUser", "clearIdentity"):
            assert results[name][0]["success"] is True, name
        assert results["updateSession"][0]["userId"] is None
        heard = [line.split()[-1] for line in console if line.startswith("widget message ")]
        assert heard.count("prefill:error") == 4  # each refusal is an error event too
