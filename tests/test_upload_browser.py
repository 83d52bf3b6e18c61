"""File fields in real Chromium: choose, drop and paste, on Prefill's own pages,
without JavaScript, and in the widget's panel on another site with third-party
cookies blocked (the set-up of tests/test_widget_browser.py)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from app import ROOT, create_app
from tests.conftest import SECRET, wipe
from tests.test_form_browser import axe
from tests.test_widget_browser import LOADED, Site, panel_frame

CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (make test installs it)")
PROVIDERS = "tests.providers_files"


def png(size: int = 0) -> bytes:
    """A real 8x8 PNG, padded with a text chunk to about ``size`` bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 40, 40] * 8) for _ in range(8))
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
    pad = chunk(b"tEXt", b"Comment\x00" + b"x" * max(0, size - 120)) if size else b""
    return head + pad + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class Seen:
    """What Prefill's server was asked (WSGI middleware): method, path, and
    whether a request carried a bearer token or a cookie."""

    def __init__(self, app: Any) -> None:
        self.app, self.lines = app, []
        self.gate = threading.Event()  # cleared: uploads wait for it (their progress can be read meanwhile)
        self.gate.set()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/api/uploads":
            self.gate.wait(10)
        query = environ.get("QUERY_STRING")
        cookie = "prefill_session" in environ.get("HTTP_COOKIE", "")
        self.lines.append((environ["REQUEST_METHOD"], environ["PATH_INFO"] + ("?" + query if query else ""),
                           environ.get("HTTP_AUTHORIZATION", "")[:7], cookie, environ.get("HTTP_REFERER", ""),
                           int(environ.get("CONTENT_LENGTH") or 0)))
        return self.app(environ, start_response)

    def uploads(self) -> list[tuple[Any, ...]]:
        return [line for line in self.lines if line[0] == "POST" and line[1].startswith("/api/uploads")]


def serve(app: Any) -> tuple[Any, str]:
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from store.db import make_engine, migrate

    tmp = tmp_path_factory.mktemp("uploads")
    url = f"sqlite:///{tmp / 'db.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    wipe(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "uploads", "AUTO_MIGRATE": False, "RATELIMIT_ENABLED": False,
                      "PREFILL_PROVIDER_MODULES": [PROVIDERS], "UPLOAD_STORAGE_URL": f"file://{tmp / 'files'}"})
    seen = Seen(app.wsgi_app)
    app.wsgi_app = seen  # type: ignore[method-assign]
    srv, base = serve(app)
    yield {"base": base, "app": app, "seen": seen, "files": tmp / "files"}
    srv.shutdown()
    app.extensions["prefill"].db.dispose()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    made: list[Any] = []

    def new(**options: Any) -> Any:
        made.append(browser.new_context(bypass_csp=True, **options))
        return made[-1].new_page()

    yield new
    for ctx in made:
        ctx.close()


def attached(page: Any, field: str, count: int = 1) -> list[str]:
    """The upload ids the form will post for ``field``, once ``count`` are done."""
    done = page.locator(f"#{field}-files input[type=hidden]")  # an upload's id: it is done
    done.nth(count - 1).wait_for(state="attached")
    assert page.locator(f"#{field}-files li.file").count() == count
    return [done.nth(i).get_attribute("value") for i in range(count)]


def stored(site: dict[str, Any]) -> list[Any]:
    with site["app"].extensions["prefill"].db.connect() as conn:
        return list(conn.execute(text("SELECT id, name, status, submission_id FROM attachments ORDER BY created_at")))


DROP = """([selector, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type}));
  const target = document.querySelector(selector);
  for (const kind of ['dragenter', 'dragover', 'drop'])
    target.dispatchEvent(new DragEvent(kind, {dataTransfer: dt, bubbles: true, cancelable: true}));
}"""


# -- the page, with JavaScript -----------------------------------------------------------------
def test_a_chosen_file_is_uploaded_at_once_and_the_thanks_page_links_it(open_page, site):
    page = open_page()
    page.goto(f"{site['base']}/forms/attach")
    shot = page.locator("#shot")
    assert shot.get_attribute("type") == "file" and shot.get_attribute("accept") == "image/png,image/jpeg"
    assert shot.get_attribute("multiple") is None and page.locator("#logs").get_attribute("multiple") is not None
    # The limits, in words, before anything is chosen; the control is described by them.
    assert page.locator("#shot-limits").inner_text() == "PNG or JPEG, up to 200 kB"
    assert page.locator("#logs-limits").inner_text() == ".log or plain text, up to 1 MB each; at most 3 files"
    assert page.get_by_label("Screenshot").count() == 1
    cdp = page.context.new_cdp_session(page)
    node = next(n for n in cdp.send("Accessibility.getFullAXTree")["nodes"]
                if n.get("name", {}).get("value") == "Screenshot" and n.get("role", {}).get("value") == "button")
    assert node["description"]["value"].startswith("PNG or JPEG, up to 200 kB")
    page.fill("#subject", "The chart is blank")
    # Progress: the upload is held back a moment, so its <progress> and the news can be read.
    site["seen"].gate.clear()
    shot.set_input_files(files=[{"name": "chart.png", "mimeType": "image/png", "buffer": png(5000)}])
    page.locator("#shot-files li.is-uploading progress").wait_for()
    assert page.locator("#shot-files progress").get_attribute("aria-label") == "Uploading chart.png…"
    assert page.locator("#shot-status").inner_text() == "Uploading chart.png…"
    assert page.locator("#shot-status").get_attribute("aria-live") == "polite"
    site["seen"].gate.set()
    ids = attached(page, "shot")
    assert re.fullmatch(r"upl_[0-9a-f]{32}", ids[0])
    assert page.locator("#shot-status").inner_text() == "chart.png is attached."
    assert page.locator("#shot-files progress").count() == 0
    assert shot.evaluate("e => e.files[0].name") == "chart.png"  # the control shows what is attached
    assert [line[2:4] for line in site["seen"].uploads()][-1] == ("", True)  # this page's cookie session
    page.locator("button[type=submit]").click()
    page.locator(".thanks").wait_for()
    posted = [line[-1] for line in site["seen"].lines if line[:2] == ("POST", "/forms/attach")][-1]
    assert posted < 5000  # the form carried the upload's id, not the file again
    link = page.locator(".sent-files a", has_text="chart.png")
    assert link.count() == 1 and re.fullmatch(r"chart\.png \d\.\d kB", page.locator(".sent-files").inner_text())
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "chart.png"
    assert Path(download.value.path()).read_bytes() == png(5000)
    row = next(r for r in stored(site) if r.id == ids[0])
    assert row.status == "stored" and row.submission_id == page.locator(".thanks").get_attribute("data-submission")


def test_files_dropped_on_the_field_are_uploaded_and_one_can_be_removed(open_page, site):
    page = open_page()
    page.goto(f"{site['base']}/forms/attach")
    page.fill("#subject", "Logs attached")
    for name in ("app.log", "worker.log"):
        page.evaluate(DROP, [".field-file:has(#logs)", name, "text/plain",
                             base64.b64encode(f"{name}: started\n".encode()).decode()])
    ids = attached(page, "logs", 2)
    assert len(set(ids)) == 2
    assert page.locator("#logs-files .file-name").all_inner_texts() == ["app.log", "worker.log"]
    page.get_by_role("button", name="Remove app.log").click()
    assert page.locator("#logs-status").inner_text() == "app.log was removed."
    assert page.evaluate("document.activeElement.id") == "logs"  # focus is not lost with the button
    page.locator("button[type=submit]").click()
    page.locator(".thanks").wait_for()
    assert page.locator(".sent-files a").all_inner_texts() == ["worker.log"]


def test_a_too_big_or_wrong_file_is_refused_on_the_field_in_the_readers_language(open_page, site):
    page = open_page(locale="de-DE")
    page.goto(f"{site['base']}/forms/attach")
    assert page.locator("#shot-limits").inner_text() == "PNG oder JPEG, bis zu 200 kB"
    before = len(site["seen"].uploads())
    page.locator("#shot").set_input_files(files=[{"name": "huge.png", "mimeType": "image/png",
                                                  "buffer": png(300_000)}])
    errors = page.locator("#shot-errors")
    errors.wait_for()
    assert errors.inner_text() == "huge.png ist zu groß: Die Grenze liegt bei 200 kB."
    assert page.locator("#shot").get_attribute("aria-invalid") == "true"
    assert "shot-errors" in page.locator("#shot").get_attribute("aria-describedby")
    assert page.locator("#shot-status").text_content() == errors.inner_text()  # heard, politely
    assert not page.locator("#shot-status").is_visible() or page.locator("#shot-status").bounding_box()["height"] <= 1
    assert len(site["seen"].uploads()) == before  # refused before a single byte was sent
    # A file the browser calls a PNG that holds text: the server refuses it, the field says so in German.
    page.locator("#shot").set_input_files(files=[{"name": "fake.png", "mimeType": "image/png",
                                                  "buffer": b"<html><script>alert(1)</script></html>"}])
    page.wait_for_function("document.querySelector('#shot-errors') && "
                           "document.querySelector('#shot-errors').textContent.includes('fake.png')")
    assert errors.inner_text() == "fake.png ist kein zulässiger Dateityp (PNG oder JPEG)."
    assert len(site["seen"].uploads()) == before + 1
    # A good one clears the errors.
    page.locator("#shot").set_input_files(files=[{"name": "ok.png", "mimeType": "image/png", "buffer": png()}])
    attached(page, "shot")
    assert page.locator("#shot-errors").count() == 0 and page.locator("#shot").get_attribute("aria-invalid") is None
    assert page.locator("#shot-status").inner_text() == "ok.png ist angehängt."
    # A refused file does not replace the one attached.
    page.locator("#shot").set_input_files(files=[{"name": "big.png", "mimeType": "image/png", "buffer": png(300_000)}])
    errors.wait_for()
    assert page.locator("#shot-files .file-name").all_inner_texts() == ["ok.png"]
    assert page.locator("#shot").evaluate("e => [...e.files].map(f => f.name)") == ["ok.png"]


def test_a_post_waits_for_an_upload_on_its_way(open_page, site):
    page = open_page()
    page.goto(f"{site['base']}/forms/one_file")
    site["seen"].gate.clear()
    page.locator("#shot").set_input_files(files=[{"name": "a.png", "mimeType": "image/png", "buffer": png()}])
    page.locator("button[type=submit]").click()  # required, and not uploaded yet: the post waits
    page.wait_for_function("document.querySelector('#shot-status').textContent.includes('sent when')")
    assert page.locator(".thanks").count() == 0
    site["seen"].gate.set()
    page.locator(".thanks").wait_for()  # sent by itself once the upload was done
    assert page.locator(".sent-files a").all_inner_texts() == ["a.png"]


def test_axe_finds_nothing_on_a_form_with_file_fields(open_page, site):
    problems = {}
    for scheme in ("light", "dark"):
        page = open_page(color_scheme=scheme)
        page.goto(f"{site['base']}/forms/attach")
        problems[scheme, "form"] = axe(page)
        page.locator("#shot").set_input_files(files=[{"name": "huge.png", "mimeType": "image/png",
                                                      "buffer": png(300_000)}])
        page.locator("#logs").set_input_files(files=[{"name": "a.log", "mimeType": "text/plain", "buffer": b"x\n"}])
        page.locator("#shot-errors").wait_for()
        attached(page, "logs")
        problems[scheme, "a file and an error"] = axe(page)
        page.fill("#subject", "Axe")
        page.locator("button[type=submit]").click()
        page.locator(".thanks").wait_for()
        problems[scheme, "thanks"] = axe(page)
    assert {k: v for k, v in problems.items() if v} == {}


# -- the page, without JavaScript -----------------------------------------------------------------
def test_without_javascript_the_form_posts_its_files_and_a_refused_one_keeps_the_rest(open_page, site):
    page = open_page(java_script_enabled=False)
    page.goto(f"{site['base']}/forms/attach")
    before = len(site["seen"].uploads())
    form = page.locator("form.prefill-form")
    assert form.get_attribute("enctype") == "multipart/form-data"
    assert page.locator(".drop-hint").first.is_hidden()  # dropping and pasting need the script
    page.fill("#subject", "No script here")
    page.fill("#details", "Typed before the error.")
    page.locator("#shot").set_input_files(files=[{"name": "huge.png", "mimeType": "image/png",
                                                  "buffer": png(300_000)}])
    page.locator("#logs").set_input_files(files=[{"name": "boot.log", "mimeType": "text/plain",
                                                  "buffer": b"boot: ok\n"}])
    page.locator("button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.title().startswith("Error: ")
    assert page.locator("#subject").input_value() == "No script here"
    assert page.locator("#details").input_value() == "Typed before the error."
    assert page.locator("#shot-errors").inner_text().startswith("The file is larger than")
    assert page.locator("#shot").get_attribute("aria-invalid") == "true"
    # The log file was stored: it is kept, ticked, and needs no choosing again.
    kept = page.get_by_label("boot.log")
    assert kept.is_checked() and kept.get_attribute("type") == "checkbox"
    page.locator("#shot").set_input_files(files=[{"name": "small.png", "mimeType": "image/png", "buffer": png()}])
    page.locator("button[type=submit]").click()
    page.locator(".thanks").wait_for()
    sent = page.locator(".sent").inner_text()
    assert "small.png" in sent and "boot.log" in sent and "No script here" in sent
    assert len(site["seen"].uploads()) == before  # the form itself carried the files


# -- the widget's panel on another site ---------------------------------------------------------------
@pytest.fixture
def widget(sqlite_url: str, browser: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    wipe(sqlite_url)
    host = Site()
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "widget-files", "AUTO_MIGRATE": False,
                      "RATELIMIT_ENABLED": False, "IDENTITY_SECRET": SECRET, "PREFILL_PROVIDER_MODULES": [PROVIDERS],
                      "WIDGET_ORIGINS": host.origin, "UPLOAD_STORAGE_URL": f"file://{tmp_path / 'files'}",
                      "ADHOC_FORMS": True})
    seen = Seen(app.wsgi_app)
    app.wsgi_app = seen  # type: ignore[method-assign]
    srv, base = serve(app)
    host.prefill = base
    context = browser.new_context()
    yield {"site": host, "prefill": base, "app": app, "seen": seen, "context": context}
    context.close()
    srv.shutdown()
    host.server.shutdown()
    app.extensions["prefill"].db.dispose()
    for method, path, _, _, referer, _ in seen.lines:  # no token ever in a URL or a Referer
        assert "token=" not in path + referer and "eyJ" not in path + referer, (method, path)


def test_a_screenshot_pasted_in_the_panel_on_another_site_is_sent_with_the_bearer_token(widget):
    page = widget["context"].new_page()
    page.goto(f"{widget['site'].origin}/?user=u1&plan=enterprise")
    page.wait_for_function(LOADED)
    assert page.evaluate("prefill.showForm('screenshot_ticket')") == {"success": True}
    frame = panel_frame(page)
    inner = next(f for f in page.frames if f.url.startswith(widget["prefill"]))
    assert frame.locator("#shot-limits").inner_text() == "PNG or JPEG, up to 5 MB"
    assert frame.locator(".drop-hint").inner_text() == "You can also drop a file here or paste a screenshot."
    frame.locator("#subject").fill("Checkout fails")
    frame.locator("#message").fill("See the screenshot.")
    # A real screenshot of the host page on the system clipboard, pasted (Ctrl+V) while typing the message.
    widget["context"].grant_permissions(["clipboard-read", "clipboard-write"], origin=widget["site"].origin)
    page.evaluate("""async b64 => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        await navigator.clipboard.write([new ClipboardItem({'image/png': new Blob([bytes], {type: 'image/png'})})]);
    }""", base64.b64encode(page.screenshot()).decode())
    frame.locator("#message").click()
    page.keyboard.press("Control+V")
    ids = attached(inner, "shot")
    name = frame.locator("#shot-files .file-name").inner_text()
    assert re.fullmatch(r"screenshot-\d{8}-\d{6}\.png", name), name
    assert frame.locator("#message").input_value() == "See the screenshot."  # no text pasted into it
    uploads = widget["seen"].uploads()
    assert uploads and all(u[2] == "Bearer " and not u[3] for u in uploads)  # the bearer token, no cookie
    frame.locator("button[type=submit]").click()
    frame.locator(".thanks").wait_for()
    assert frame.locator(".sent-files a").all_inner_texts() == [name]
    with widget["app"].extensions["prefill"].db.connect() as conn:
        owner, = conn.execute(text("SELECT owner_id FROM submissions")).one()
        size, kind = conn.execute(text("SELECT size, type FROM attachments WHERE id = :i"), {"i": ids[0]}).one()
    assert owner == "u1" and kind == "image/png"
    # The link downloads the screenshot (Chromium re-encodes a clipboard image: the same picture, other bytes).
    href = frame.locator(".sent-files a").get_attribute("href")
    got = widget["context"].request.get(href if href.startswith("http") else widget["prefill"] + href)
    assert got.ok and got.headers["content-disposition"].startswith("attachment")
    assert got.body().startswith(b"\x89PNG") and len(got.body()) == size


DOCS_LOG_FORM = re.search(r"```js\n(prefill\.showForm\(\{title: 'Send us the log'.*?)```",
                          (ROOT / "docs" / "widget.md").read_text(), re.S).group(1)


def test_an_adhoc_form_in_the_panel_takes_a_dropped_file(widget):
    page = widget["context"].new_page()
    page.goto(f"{widget['site'].origin}/?user=u2")
    page.wait_for_function(LOADED)
    out = page.evaluate(DOCS_LOG_FORM)  # docs/widget.md's example, as printed
    assert out == {"success": True}
    frame = panel_frame(page)
    inner = next(f for f in page.frames if f.url.startswith(widget["prefill"]))
    assert frame.locator("#log-limits").inner_text() == ".log, up to 9.7 kB"
    inner.evaluate(DROP, [".field-file", "run.log", "text/plain", base64.b64encode(b"run: ok\n").decode()])
    attached(inner, "log")
    frame.locator("button[type=submit]").click()
    frame.locator(".thanks").wait_for()
    assert frame.locator(".sent-files a").all_inner_texts() == ["run.log"]
    assert all(u[2] == "Bearer " for u in widget["seen"].uploads())
