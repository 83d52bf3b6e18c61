"""Uploads through the JSON API, on SQLite and PostgreSQL, with files on disk
and in S3 (moto's server): the round trip, and the attacks of issue 17."""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
import zipfile

import pytest
from sqlalchemy import text

from tests.uploads_helpers import UPLOAD_PROVIDERS, Counting, multipart, png, upload

ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture
def up_app(make_app, storage_config):
    def build(**config):
        return make_app(PREFILL_PROVIDER_MODULES=UPLOAD_PROVIDERS, ADMIN_API_KEY="admin", **storage_config, **config)

    return build


@pytest.fixture
def app(up_app):
    return up_app()


def st(app):
    return app.extensions["prefill"]


def submit(client, values, key=None, form="bug_report"):
    return client.post(f"/api/forms/{form}/submissions", json={"values": {"subject": "s", "kind": "other", **values}},
                       headers={"Idempotency-Key": key} if key else {})


def fetch(client, url):
    return client.get(url.replace("http://localhost", ""))


def test_upload_submit_and_download(app, client):
    shot = png(5000)
    r = upload(client, "bug_report", "screenshot", shot, "screen.png", "image/png")
    assert r.status_code == 201, r.json
    up = r.json
    assert up["name"] == "screen.png" and up["size"] == len(shot) and up["type"] == "image/png"
    assert up["id"].startswith("upl_") and set(up) == {"id", "name", "size", "type"}
    logs = [upload(client, "bug_report", "logs", b"line %d\n" % i * 50, f"app{i}.log").json["id"] for i in range(2)]
    r = submit(client, {"screenshot": up["id"], "logs": logs})
    assert r.status_code == 201, r.json
    files = r.json["values"]["screenshot"]
    assert [f["id"] for f in files] == [up["id"]] and files[0]["url"].startswith("http://localhost/files/upl_")
    assert files[0]["expiresAt"].endswith("Z") and len(r.json["values"]["logs"]) == 2
    got = fetch(client, files[0]["url"])
    assert got.status_code == 200 and got.data == shot
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="screen.png"')
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # The session's history, the admin API and its CSV export carry fresh links.
    item = client.get("/api/submissions").json["items"][0]
    assert fetch(client, item["values"]["screenshot"][0]["url"]).data == shot
    admin_item = client.get("/api/admin/submissions", headers=ADMIN).json["items"][0]
    assert fetch(client, admin_item["values"]["logs"][1]["url"]).status_code == 200
    csv_text = client.get("/api/admin/submissions?format=csv", headers=ADMIN).get_data(as_text=True)
    assert "values.screenshot" in csv_text and "/files/" + up["id"] in csv_text
    # The file is in the storage under Prefill's own key.
    keys = list(st(app).storage.keys())
    assert len(keys) == 3 and all("screen" not in k for k in keys)


def test_the_field_in_the_schema_answer(client, app):
    fields = {f["name"]: f for f in client.get("/api/forms/bug_report").json["fields"]}
    assert fields["screenshot"]["accept"] == ["image/png", "image/jpeg"] and fields["screenshot"]["maxSize"] == 100_000
    assert fields["logs"]["accept"] == [".log", "text/plain"] and fields["logs"]["maxFiles"] == 3
    assert fields["anything"]["maxSize"] == 10 * 1024 * 1024 and fields["anything"]["value"] is None  # the operator's


def test_operator_caps_win(up_app):
    client = up_app(UPLOAD_MAX_BYTES=10_000, UPLOAD_MAX_FILES=2).test_client()
    fields = {f["name"]: f for f in client.get("/api/forms/bug_report").json["fields"]}
    assert fields["screenshot"]["maxSize"] == 10_000 and fields["logs"]["maxFiles"] == 2
    r = upload(client, "bug_report", "screenshot", png(20_000), "big.png", "image/png")
    assert r.status_code == 413 and r.json["error"]["code"] == "file_too_large"


def test_oversized_file_is_refused_as_soon_as_it_passes_the_limit(app, client):
    """The field takes 100 kB; 5 MB are sent. The server stops reading right
    after the limit (one 64 KiB chunk past it, at most), stores nothing."""
    body, ctype = multipart([("form", "bug_report"), ("field", "screenshot"),
                             ("file", (png(5_000_000), "huge.png", "image/png"))])
    stream = Counting(body)
    r = client.post("/api/uploads", input_stream=stream, content_type=ctype, content_length=len(body))
    assert r.status_code == 413 and r.json["error"]["fields"]["file"] == ["The file is larger than 97.7 KB."]
    print(f"\nbody {len(body)} bytes, read {stream.read_bytes} before the 413 (limit 100000)")
    assert stream.read_bytes <= 100_000 + 2 * 65536
    assert list(st(app).storage.keys()) == []


def test_a_body_announced_too_large_is_refused_before_reading(app, client):
    body, ctype = multipart([("form", "bug_report"), ("field", "screenshot"),
                             ("file", (png(11 << 20), "huge.png", "image/png"))])
    stream = Counting(body)
    r = client.post("/api/uploads", input_stream=stream, content_type=ctype, content_length=len(body))
    assert r.status_code == 413 and stream.read_bytes == 0


def test_max_body_bytes_still_applies_elsewhere(client):
    r = client.post("/api/forms/bug_report/submissions", data=b"{" + b" " * (2 << 20) + b"}",
                    content_type="application/json")
    assert r.status_code == 413


@pytest.mark.parametrize(("field", "data", "name", "ctype", "message"), [
    ("screenshot", b"<html><script>alert(1)</script></html>", "cat.png", "image/png",
     "The file's name says .png but it holds text/html."),
    ("screenshot", png(), "cat.jpg", "image/jpeg", "The file's name says .jpg but it holds image/png."),
    ("logs", b"just a log line\n", "app.log", "image/png", "The file was sent as image/png but it holds text/plain."),
    ("logs", png(), "app.bin", "application/octet-stream",
     "This kind of file (image/png) is not accepted here; accepted: .log, text/plain."),
    ("screenshot", b"GIF89a" + b"\x00" * 100, "x", "application/octet-stream",
     "This kind of file (image/gif) is not accepted here; accepted: image/png, image/jpeg."),
    ("anything", b"", "empty.txt", "text/plain", "The file is empty."),
])
def test_content_decides_the_type(client, app, field, data, name, ctype, message):
    r = upload(client, "bug_report", field, data, name, ctype)
    assert r.status_code == 422, r.json
    assert r.json["error"] == {"code": "file_refused", "message": "The file is not accepted.",
                               "fields": {"file": [message]}}
    assert list(st(app).storage.keys()) == []


@pytest.mark.parametrize(("data", "name", "ctype"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>', "pic.svg",
     "image/svg+xml"),
    (b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>", "page.html", "text/html"),
])
def test_svg_and_html_are_downloaded_never_rendered(client, data, name, ctype):
    up = upload(client, "bug_report", "anything", data, name, ctype).json
    r = submit(client, {"anything": [up["id"]]})
    got = fetch(client, r.json["values"]["anything"][0]["url"])
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"] == ctype
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"] and "default-src 'none'" in got.headers[
        "Content-Security-Policy"]


def test_archives_are_stored_as_sent_never_unpacked(client, app):
    """A zip bomb is a small file: it is typed by its own header and kept as
    those bytes; nothing on the server decompresses (a request's own
    Content-Encoding is not undone either: such a body is no multipart)."""
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (50 << 20))
    bomb = bomb.getvalue()
    assert len(bomb) < 100_000
    gz = gzip.compress(b"\0" * (20 << 20))
    ids = []
    for data, name, kind in ((bomb, "bomb.zip", "application/zip"), (gz, "zeros.gz", "application/gzip")):
        r = upload(client, "bug_report", "anything", data, name, kind)
        assert r.status_code == 201 and r.json["type"] == kind and r.json["size"] == len(data)
        ids.append(r.json["id"])
    r = submit(client, {"anything": ids})
    assert [fetch(client, f["url"]).data for f in r.json["values"]["anything"]] == [bomb, gz]
    body, ctype = multipart([("form", "bug_report"), ("field", "anything"), ("file", (b"x", "a.txt", "text/plain"))])
    r = client.post("/api/uploads", data=gzip.compress(body), content_type=ctype, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400


@pytest.mark.parametrize(("sent", "shown"), [
    ("../../../../etc/passwd.log", "passwd.log"),
    ("..\\..\\windows\\win.ini.log", "win.ini.log"),
    ("/var/www/index.log", "index.log"),
    ("...log", "log"),
    ("a\x00b\x07c.log", "abc.log"),
    ("report\u202egol.exe.log", "reportgol.exe.log"),  # a right-to-left override removed
    ("  spaced \t name .log", "spaced name .log"),
    ("x" * 300 + ".log", "x" * 196 + ".log"),
])
def test_file_names_are_for_display_only(client, app, tmp_path, sent, shown):
    r = upload(client, "bug_report", "logs", b"a log line\n", sent, "text/plain")
    assert r.status_code == 201, r.json
    assert r.json["name"] == shown
    (key,) = st(app).storage.keys()
    assert key.endswith(r.json["id"])  # stored under Prefill's own key, never the name


def test_another_sessions_upload_is_a_field_error(app):
    ann, bob = app.test_client(), app.test_client()
    up = upload(ann, "bug_report", "screenshot", png(), "a.png", "image/png").json
    r = submit(bob, {"screenshot": up["id"]})
    assert r.status_code == 422
    assert r.json["error"]["fields"] == {"screenshot": [
        "This upload is not known here (or not to this session); upload the file again."]}
    assert submit(ann, {"screenshot": up["id"]}).status_code == 201


@pytest.mark.parametrize(("value", "message"), [
    ("upl_" + "0" * 32, "This upload is not known here (or not to this session); upload the file again."),
    ("../etc/passwd", "Not a valid upload; upload the file again."),
    (["upl_" + "0" * 32, 3], "Must be a list of upload ids."),
])
def test_unknown_or_malformed_ids(client, value, message):
    r = submit(client, {"screenshot": value})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"screenshot": [message]}


def test_limits_at_submit(client):
    logs = [upload(client, "bug_report", "logs", b"log\n", f"{i}.log").json["id"] for i in range(4)]
    r = submit(client, {"logs": logs})
    assert r.json["error"]["fields"] == {"logs": ["Attach at most 3 files."]}
    r = submit(client, {"logs": logs[0]})  # one id alone only where one file is taken
    assert r.json["error"]["fields"] == {"logs": ["Must be a list of upload ids."]}
    shot = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    r = submit(client, {"logs": [shot]})
    assert r.json["error"]["fields"] == {"logs": ["This upload was made for another field."]}


def test_a_hidden_file_fields_uploads_are_not_claimed(client, app):
    dump = upload(client, "bug_report", "dump", b"core dump text\n", "core.txt").json["id"]
    r = submit(client, {"kind": "other", "dump": dump})
    assert r.status_code == 201 and "dump" not in r.json["values"]
    assert st(app).attachments.get(dump).submission_id is None  # still the session's, unclaimed
    r = submit(client, {"kind": "crash"})
    assert r.json["error"]["fields"] == {"dump": ["This field is required."]}
    assert submit(client, {"kind": "crash", "dump": [dump]}).status_code == 201


def test_idempotent_submits_stay_idempotent(client, app):
    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    first = submit(client, {"screenshot": up}, key="k-1")
    again = submit(client, {"screenshot": up}, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.json["values"]["screenshot"][0]["url"]
    assert submit(client, {"screenshot": up}, key="k-2").status_code == 422  # used: another intent
    with st(app).db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar() == 1


def test_racing_twins_store_one_submission(app):
    client = app.test_client()
    token = client.post("/api/session").json["sessionToken"]
    bearer = {"Authorization": f"Bearer {token}"}
    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png", headers=bearer).json["id"]
    answers = []

    def send() -> None:
        c = app.test_client()
        answers.append(c.post("/api/forms/bug_report/submissions", headers={**bearer, "Idempotency-Key": "twin"},
                              json={"values": {"subject": "s", "screenshot": up}}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json["id"] for a in answers}) == 1


def test_a_replayed_link_after_expiry(client, monkeypatch):
    import types

    from web.uploads import links

    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    url = submit(client, {"screenshot": up}).json["values"]["screenshot"][0]["url"]
    assert fetch(client, url).status_code == 200
    later = time.time() + 3601  # ATTACHMENT_LINK_TTL is an hour
    monkeypatch.setattr(links, "time", types.SimpleNamespace(time=lambda: later))
    r = fetch(client, url)
    assert r.status_code == 410 and r.json["error"]["code"] == "link_expired" and not r.data.startswith(b"\x89PNG")
    fresh = client.get("/api/submissions").json["items"][0]["values"]["screenshot"][0]["url"]
    assert fetch(client, fresh).status_code == 200  # a new read of the submission makes a new link


def test_forged_links(client):
    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    other = upload(client, "bug_report", "logs", b"x\n", "a.log").json["id"]
    url = submit(client, {"screenshot": up, "logs": [other]}).json["values"]["screenshot"][0]["url"]
    path, query = url.replace("http://localhost", "").split("?")
    expires = int(query.split("expires=")[1].split("&")[0])
    for bad in (f"{path}?{query.replace(str(expires), str(expires + 3600))}",  # a later expiry
                f"/files/{other}?{query}",  # another file's signature
                f"{path}?expires={expires}", path, f"{path}?expires=x&sig=y"):
        r = client.get(bad)
        assert r.status_code == 404 and r.json["error"]["code"] == "link_invalid", bad


def test_an_unclaimed_upload_has_no_link(client):
    from web.uploads.links import signature

    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    with client.application.app_context():
        sig = signature(up, int(time.time()) + 60)
    assert client.get(f"/files/{up}?expires={int(time.time()) + 60}&sig={sig}").status_code == 404


def test_parallel_uploads_cannot_exceed_the_sessions_budget(up_app):
    app = up_app(UPLOAD_SESSION_BYTES_PER_HOUR=250_000, UPLOAD_MAX_BYTES=100_000)
    token = app.test_client().post("/api/session").json["sessionToken"]
    bearer = {"Authorization": f"Bearer {token}"}
    answers = []

    def send(i: int) -> None:
        answers.append(upload(app.test_client(), "bug_report", "anything", b"%d" % i + b"\n" * 60_000, f"{i}.txt",
                              "text/plain", headers=bearer))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 429]
    assert len(ok) + len(refused) == 10 and refused and ok
    assert sum(a.json["size"] for a in ok) <= 250_000
    assert all(a.json["error"]["code"] == "upload_budget_exceeded" and int(a.headers["Retry-After"]) > 0
               for a in refused)
    # Another session has its own budget.
    assert upload(app.test_client(), "bug_report", "anything", b"x\n", "x.txt").status_code == 201


def expire_unclaimed(app):
    with st(app).db.begin() as conn:  # as if UPLOAD_TTL had passed
        conn.execute(text("UPDATE attachments SET expires_at = 1 WHERE submission_id IS NULL"))


def test_expired_uploads_are_refused_then_cleaned_up(app, client):
    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    kept = upload(client, "bug_report", "logs", b"x\n", "a.log").json["id"]
    expire_unclaimed(app)
    r = submit(client, {"screenshot": up})
    assert r.json["error"]["fields"] == {"screenshot": ["This upload has expired; upload the file again."]}
    assert len(list(st(app).storage.keys())) == 2
    out = app.test_cli_runner().invoke(args=["prefill", "cleanup"])
    assert "2 unclaimed uploads" in out.output, out.output
    assert list(st(app).storage.keys()) == [] and st(app).attachments.get(up) is None
    assert st(app).attachments.get(kept) is None


def test_claimed_files_survive_cleanup(app, client):
    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    url = submit(client, {"screenshot": up}).json["values"]["screenshot"][0]["url"]
    expire_unclaimed(app)
    app.test_cli_runner().invoke(args=["prefill", "cleanup"])
    assert fetch(client, url).status_code == 200


def test_upload_ttl_sets_the_lifetime(up_app):
    app = up_app(UPLOAD_TTL=120)
    up = upload(app.test_client(), "bug_report", "logs", b"x\n", "a.log").json["id"]
    left = st(app).attachments.get(up).expires_at - time.time() * 1000
    assert 110_000 < left <= 120_000


def test_erase_removes_the_users_files_from_the_storage(verified_app, storage_config, make_app):
    from tests.conftest import SECRET, proof

    app = make_app(PREFILL_PROVIDER_MODULES=UPLOAD_PROVIDERS, ADMIN_API_KEY="admin", IDENTITY_SECRET=SECRET,
                   **storage_config)
    client, other = app.test_client(), app.test_client()
    assert client.post("/api/identify", json={"userId": "u-1", **proof("u-1")}).status_code == 200
    sent = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    pending = upload(client, "bug_report", "logs", b"x\n", "a.log").json["id"]  # never submitted
    submit(client, {"screenshot": sent})
    theirs = upload(other, "bug_report", "logs", b"y\n", "b.log").json["id"]
    storage = st(app).storage
    keys = {k.rsplit("/", 1)[1]: k for k in storage.keys()}
    assert set(keys) == {sent, pending, theirs}
    assert client.delete("/api/admin/users/u-1", headers=ADMIN).status_code == 204
    assert not storage.exists(keys[sent]) and not storage.exists(keys[pending])
    assert storage.exists(keys[theirs]) and list(storage.keys()) == [keys[theirs]]
    with st(app).db.connect() as conn:
        assert conn.execute(text("SELECT id FROM attachments")).scalars().all() == [theirs]


def test_webhooks_carry_links_with_their_expiry(up_app):
    app = up_app(WEBHOOK_URL="http://127.0.0.1:9/hook", WEBHOOK_SECRET="s")
    client = app.test_client()
    up = upload(client, "bug_report", "screenshot", png(), "a.png", "image/png").json["id"]
    submit(client, {"screenshot": up})
    with st(app).db.connect() as conn:
        payload = json.loads(conn.execute(text("SELECT payload FROM webhook_deliveries")).scalar())
    (item,) = payload["submission"]["values"]["screenshot"]
    assert item["id"] == up and item["url"].startswith("http://localhost/files/") and item["expiresAt"]
    assert fetch(client, item["url"]).status_code == 200


@pytest.mark.parametrize(("parts", "status", "fields"), [
    ([("form", "bug_report"), ("file", (b"x\n", "a.txt", "text/plain"))], 400,
     {"field": ["Send it before the file part."]}),
    ([("form", "bug_report"), ("field", "subject"), ("file", (b"x\n", "a.txt", "text/plain"))], 400,
     {"field": ["Form 'bug_report' has no file field 'subject'; its file fields: screenshot, logs, dump, anything."]}),
    ([("form", "bug_report"), ("field", "logs")], 400, {"file": ["Choose a file to upload."]}),
    ([("form", "bug_report"), ("field", "logs"), ("other", "1")], 400, {"other": ["Unknown field."]}),
    ([("form", "bug_report"), ("field", "logs"), ("file", (b"x\n", "a.log", "text/plain")),
      ("file", (b"y\n", "b.log", "text/plain"))], 400, {"file": ["Send one file, in the part named 'file'."]}),
])
def test_bad_upload_requests(client, parts, status, fields):
    body, ctype = multipart(parts)
    r = client.post("/api/uploads", data=body, content_type=ctype)
    assert r.status_code == status and r.json["error"]["fields"] == fields


def test_upload_errors_in_the_one_shape(client):
    r = client.post("/api/uploads", json={"file": "x"})
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    body, ctype = multipart([("form", "nope"), ("field", "x"), ("file", (b"x", "a.txt", "text/plain"))])
    assert client.post("/api/uploads", data=body, content_type=ctype).json["error"]["code"] == "unknown_form"
    body, ctype = multipart([("form", "adhoc"), ("field", "x"), ("file", (b"x", "a.txt", "text/plain"))])
    assert client.post("/api/uploads", data=body, content_type=ctype).status_code == 404  # ADHOC_FORMS off
    r = client.post("/api/uploads", data=b"--b\r\nnot a part", content_type="multipart/form-data; boundary=b")
    assert r.status_code == 400


def test_a_cookie_upload_from_a_foreign_page_is_refused(client):
    body, ctype = multipart([("form", "bug_report"), ("field", "logs"), ("file", (b"x\n", "a.log", "text/plain"))])
    r = client.post("/api/uploads", data=body, content_type=ctype, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_adhoc_forms_take_files(up_app):
    client = up_app(ADHOC_FORMS=True).test_client()
    up = upload(client, "adhoc", "shot", png(), "a.png", "image/png").json["id"]
    schema = {"fields": [{"name": "shot", "type": "file", "accept": "image/png", "maxSize": 10}]}
    r = client.post("/api/forms/adhoc/submissions", json={"schema": schema, "values": {"shot": up}})
    assert r.json["error"]["fields"] == {"shot": ["The file is larger than 10 bytes."]}  # its own limit, at submit
    schema["fields"][0]["maxSize"] = 10_000
    r = client.post("/api/forms/adhoc/submissions", json={"schema": schema, "values": {"shot": up}})
    assert r.status_code == 201 and r.json["values"]["shot"][0]["url"]
