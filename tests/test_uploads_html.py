"""The HTML form's own multipart post (no JavaScript): files streamed to
storage with the other fields, errors on the field with the typed values kept."""

from __future__ import annotations

import re

import pytest

from tests.uploads_helpers import UPLOAD_PROVIDERS, multipart, png


@pytest.fixture
def app(make_app, storage_config):
    return make_app(PREFILL_PROVIDER_MODULES=UPLOAD_PROVIDERS, **storage_config)


def page_inputs(client, path="/forms/bug_report"):
    html = client.get(path).get_data(as_text=True)
    return {name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1) for name in ("csrf_token", "form_key")}


def post(client, parts, path="/forms/bug_report"):
    body, ctype = multipart(parts)
    return client.post(path, data=body, content_type=ctype)


def storage_keys(app):
    return list(app.extensions["prefill"].storage.keys())


def test_a_form_with_files_posts_without_javascript(app, client):
    hidden = page_inputs(client)
    shot = png(3000)
    r = post(client, [*hidden.items(), ("subject", "Broken"), ("kind", "other"),
                      ("screenshot", (shot, "screen.png", "image/png")),
                      ("logs", (b"one\n", "a.log", "text/plain")), ("logs", (b"two\n", "b.log", "text/plain")),
                      ("anything", (b"", "", "application/octet-stream"))])  # a file input left empty
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    thanks = client.get(r.headers["Location"]).get_data(as_text=True)
    links = re.findall(r'href="(http://localhost/files/[^"]+)"', thanks)
    assert len(links) == 3
    got = client.get(links[0].replace("http://localhost", "").replace("&amp;", "&"))
    assert got.status_code == 200 and got.data == shot
    item = client.get("/api/submissions").json["items"][0]
    assert [f["name"] for f in item["values"]["logs"]] == ["a.log", "b.log"] and item["values"]["anything"] == []


def test_a_refused_file_is_an_error_on_its_field_with_the_other_values_kept(app, client):
    hidden = page_inputs(client)
    r = post(client, [*hidden.items(), ("subject", "Typed by hand"), ("kind", "other"),
                      ("screenshot", (png(300_000), "big.png", "image/png")),
                      ("logs", (b"a log\n", "ok.log", "text/plain"))])
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "The file is larger than 97.7 KB." in page and "Typed by hand" in page
    keys = storage_keys(app)
    assert len(keys) == 1  # the log was kept (unclaimed, this session's); the oversized file never stored
    kept = keys[0].rsplit("/", 1)[1]
    assert kept in page  # the kept upload goes back with the page, to be sent again
    r = post(client, [*hidden.items(), ("subject", "Typed by hand"), ("kind", "other"), ("logs", kept)])
    assert r.status_code == 303
    assert [f["name"] for f in client.get("/api/submissions").json["items"][0]["values"]["logs"]] == ["ok.log"]


def test_a_lying_file_is_refused_on_the_page(client, app):
    hidden = page_inputs(client)
    r = post(client, [*hidden.items(), ("subject", "x"), ("kind", "other"),
                      ("screenshot", (b"<script>alert(1)</script>", "cat.png", "image/png"))])
    assert r.status_code == 422 and "but it holds text/html" in r.get_data(as_text=True)
    assert storage_keys(app) == []


def test_files_without_the_csrf_token_are_not_stored(client, app):
    page_inputs(client)
    r = post(client, [("subject", "x"), ("screenshot", (png(), "a.png", "image/png"))])
    assert r.status_code == 400 and storage_keys(app) == []


def test_a_double_click_with_files_is_one_submission(client, app):
    hidden = page_inputs(client)
    parts = [*hidden.items(), ("subject", "Once"), ("kind", "other"), ("screenshot", (png(), "a.png", "image/png"))]
    first, second = post(client, parts), post(client, parts)
    assert first.status_code == second.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    assert len(client.get("/api/submissions").json["items"]) == 1
