"""The real page's layout, in real Chromium: the app started as ``make run`` starts
it, its own stylesheet and CSP, at 1280 px (hardening round 3, defect 11)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .app_process import RunningApp, make_run

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with make_run(tmp_path_factory.mktemp("layout")) as app:
        yield app


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # the page's own CSP applies
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_radio_options_are_one_per_line_in_normal_weight(running, page, theme):
    page.emulate_media(color_scheme=theme)
    page.goto(f"{running.base}/forms/refund")
    options = page.locator("fieldset label.choice")
    assert [t.strip() for t in options.all_inner_texts()] == ["Damaged", "Not as described", "Other"]
    boxes = [options.nth(i).bounding_box() for i in range(3)]
    tops = [round(b["y"]) for b in boxes]
    assert len(set(tops)) == 3 and tops == sorted(tops), tops  # each on its own line, in order
    assert len({round(b["x"]) for b in boxes}) == 1  # and aligned on the left
    weights = options.evaluate_all("els => els.map(e => getComputedStyle(e).fontWeight)")
    assert weights == ["400", "400", "400"]
    # The group's name stays bold, as every field's label.
    legend = page.locator("fieldset legend").evaluate("e => getComputedStyle(e).fontWeight")
    label = page.locator("label[for=email]").evaluate("e => getComputedStyle(e).fontWeight")
    assert legend == label == "600"


def test_the_pages_stylesheets_arrive_compressed_and_cached_for_a_year(running, page):
    """Defect 14, as the browser sees it: prefill.css gzipped, both stylesheets by version."""
    with page.expect_response(lambda r: "/static/prefill.css" in r.url) as css, \
            page.expect_response(lambda r: "/theme.css" in r.url) as theme:
        page.goto(f"{running.base}/forms/refund")
    assert css.value.all_headers()["content-encoding"] == "gzip"
    for sheet in (css.value, theme.value):
        assert sheet.request.resource_type == "stylesheet" and sheet.status == 200
        assert sheet.all_headers()["cache-control"] == "public, max-age=31536000, immutable"
