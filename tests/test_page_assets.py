"""The stylesheets a form page loads: compressed, and cached as long as their
URL says exactly what they hold (hardening round 3, defect 14)."""

from __future__ import annotations

import gzip
import re

import pytest

from app import ROOT

YEAR = "public, max-age=31536000, immutable"


def linked(page: str, path: str) -> str:
    """The URL the page links for ``path`` (``/static/prefill.css``), entities undone."""
    found = re.search(rf'href="({re.escape(path)}[^"]*)"', page)
    assert found, f"{path} is not linked"
    return found.group(1).replace("&amp;", "&")


@pytest.fixture
def page(client):
    return client.get("/forms/support_ticket").get_data(as_text=True)


def test_prefill_css_is_linked_by_version_and_cached_for_a_year(client, page):
    url = linked(page, "/static/prefill.css")
    assert re.fullmatch(r"/static/prefill\.css\?v=[0-9a-f]{16}", url), url
    r = client.get(url)
    assert r.status_code == 200 and r.headers["Cache-Control"] == YEAR
    assert r.get_data() == (ROOT / "static" / "prefill.css").read_bytes()
    assert r.mimetype == "text/css"


def test_prefill_css_is_gzipped_when_the_browser_takes_it(client, page):
    url = linked(page, "/static/prefill.css")
    r = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
    assert gzip.decompress(r.get_data()) == (ROOT / "static" / "prefill.css").read_bytes()
    assert len(r.get_data()) < len((ROOT / "static" / "prefill.css").read_bytes()) / 2
    assert "Content-Encoding" not in client.get(url, headers={"Accept-Encoding": "identity"}).headers


@pytest.mark.parametrize("name", ["form.js", "embed.js", "favicon.svg"])
def test_the_other_static_files_are_versioned_too(client, name):
    page = client.get("/forms/support_ticket?embed=1").get_data(as_text=True)
    url = re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]{{16}})"', page).group(1)
    assert client.get(url).headers["Cache-Control"] == YEAR


def test_an_unversioned_or_stale_url_is_revalidated(client, page):
    for url in ("/static/prefill.css", "/static/prefill.css?v=0123456789abcdef"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": r.headers["ETag"]})
        assert again.status_code == 304 and not again.get_data()


@pytest.mark.parametrize("path", ["/static/nope.css", "/static/../app.py", "/static/%2e%2e/app.py"])
def test_unknown_static_files_are_404(client, path):
    assert client.get(path).status_code == 404


def test_theme_css_is_linked_by_version_and_cached_for_a_year(make_app):
    c = make_app(THEME_ACCENT="#00aa55").test_client()
    for query, accent in (("", "#00aa55"), ("?embed=1&accent=%23aa2200", "#aa2200")):
        url = linked(c.get(f"/forms/support_ticket{query}").get_data(as_text=True), "/theme.css")
        r = c.get(url)
        assert r.headers["Cache-Control"] == YEAR, url
        assert f"--prefill-accent:{accent}" in r.get_data(as_text=True)


def test_theme_css_versions_follow_the_operators_settings(make_app):
    def version(**config):
        page = make_app(**config).test_client().get("/forms/support_ticket").get_data(as_text=True)
        return re.search(r"v=([0-9a-f]+)", linked(page, "/theme.css")).group(1)

    assert version(THEME_ACCENT="#00aa55") == version(THEME_ACCENT="#00aa55")
    assert version(THEME_ACCENT="#00aa55") != version(THEME_ACCENT="#0055aa")
    assert version(THEME_RADIUS="6px") != version(THEME_RADIUS="10px")


def test_theme_css_without_its_version_is_revalidated(client):
    for url in ("/theme.css", "/theme.css?accent=%2300aa55", "/theme.css?v=stale"):
        r = client.get(url)
        assert r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"], url
        assert client.get(url, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
