"""The upload docs' examples run: the provider in providers.md, the requests
client in http-api.md against a live server, and deploy.md's S3 and clamd
settings against moto's S3 server and a clamd-speaking server."""

from __future__ import annotations

import re
import shlex
import sys
import threading

from app import SETTINGS
from tests.fake_clamd import FakeClamd
from tests.test_crash import ROOT
from tests.uploads_helpers import png, upload

DOCS = ROOT / "docs"


def blocks(doc: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (DOCS / doc).read_text(), re.S)


def test_the_providers_guide_file_field(make_app, tmp_path, monkeypatch):
    (block,) = [b for b in blocks("providers.md", "python") if '"type": "file"' in b]
    (tmp_path / "guide_files.py").write_text(block)
    monkeypatch.syspath_prepend(str(tmp_path))
    client = make_app(PREFILL_PROVIDER_MODULES="guide_files").test_client()
    fields = {f["name"]: f for f in client.get("/api/forms/bug_with_files").json["fields"]}
    assert fields["logs"]["maxFiles"] == 3 and fields["screenshot"]["accept"] == ["image/png", "image/jpeg"]
    shot = upload(client, "bug_with_files", "screenshot", png(), "s.png", "image/png").json["id"]
    r = client.post("/api/forms/bug_with_files/submissions", json={"values": {"summary": "x", "screenshot": shot}})
    assert r.status_code == 201 and r.json["values"]["screenshot"][0]["url"]
    sys.modules.pop("guide_files", None)


def test_the_http_api_upload_example_runs(make_app, tmp_path, monkeypatch, capsys):
    from werkzeug.serving import make_server

    app = make_app(UPLOAD_STORAGE_URL=(tmp_path / "files").as_uri())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (example,) = [b for b in blocks("http-api.md", "python") if "/api/uploads" in b]
        monkeypatch.chdir(tmp_path)
        (tmp_path / "screen.png").write_bytes(png(4000))
        exec(example.replace("http://127.0.0.1:5000", f"http://127.0.0.1:{server.server_port}"), {})
        url = capsys.readouterr().out.strip()
        import requests

        got = requests.get(url, timeout=10)
        assert got.status_code == 200 and got.content == png(4000)
        assert got.headers["Content-Disposition"].startswith("attachment")
    finally:
        server.shutdown()


def test_the_deploy_guides_s3_and_clamd_settings(make_app, s3_server, monkeypatch):
    (block,) = [b for b in blocks("deploy.md", "sh") if "UPLOAD_STORAGE_URL" in b]
    env = dict(pair.split("=", 1) for line in block.splitlines() for pair in shlex.split(line)[1:])
    clamd = FakeClamd()
    env.update(S3_ENDPOINT_URL=s3_server, UPLOAD_SCAN_CLAMD=clamd.url, UPLOAD_STORAGE_URL="s3://prefill-test/deploy-doc",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = make_app()
    r = upload(app.test_client(), "support_ticket", "screenshot", png(), "s.png", "image/png")
    assert r.status_code == 201 and clamd.scanned
    assert any(k.endswith(r.json["id"]) for k in app.extensions["prefill"].storage.keys())
    clamd.close()


def test_every_upload_setting_is_documented():
    text = (DOCS / "operations.md").read_text()
    for name in SETTINGS:
        if name.startswith(("UPLOAD_", "ATTACHMENT_", "S3_")) or name == "RATELIMIT_UPLOAD":
            assert f"`{name}`" in text, name
