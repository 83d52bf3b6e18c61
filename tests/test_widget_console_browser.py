"""widget.js keeps the host page's console clean (hardening round 3, defect 14):
opening a client-registered form asked ``GET /api/forms/<name>`` to learn that no
server form has the name, and every open logged that 404 as an error."""

from __future__ import annotations

from typing import Any

from tests.test_widget_browser import env, host, panel_frame  # noqa: F401 (fixtures)


def watch(page: Any) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"console": [], "failed": []}
    page.on("console", lambda m: seen["console"].append(m.text) if m.type in ("error", "warning") else None)
    page.on("response", lambda r: seen["failed"].append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return seen


def test_opening_a_client_registered_form_logs_no_error(env):  # noqa: F811
    page = host(env, user="u1")
    seen = watch(page)
    page.evaluate("""prefill.registerFormSchema({
        nps: function (args, user) {
            return {title: 'Rate us, ' + user.userId, fields: [{name: 'score', type: 'number'}]}; },
        support_ticket: function () { return {title: 'Client copy', fields: [{name: 'x'}]}; }})""")
    for _ in range(2):  # every open, not only the first
        assert page.evaluate("prefill.showForm('nps')") == {"success": True}
        assert page.locator("#prefill-panel iframe").get_attribute("title") == "Rate us, u1"
        panel_frame(page).locator("#score").wait_for()
        page.evaluate("prefill.hideForm()")
    # A server form of a registered name still wins, without a 404 either.
    assert page.evaluate("prefill.showForm('support_ticket')") == {"success": True}
    assert page.locator("#prefill-panel iframe").get_attribute("title") == "Contact support"
    panel_frame(page)
    page.wait_for_timeout(300)  # events still on their way
    assert seen == {"console": [], "failed": []}
    assert not [line for line in env["log"].lines if line.startswith("GET /api/forms/nps")]
