"""UPLOAD_SCAN_CLAMD: every upload streams through clamd's INSTREAM before it is
kept. Tested against tests/fake_clamd.py, a server speaking the protocol (a
real clamd needs ClamAV's signature database, which cannot be downloaded here)."""

from __future__ import annotations

import socket

import pytest

from storage.clamd import Clamd, ScanFailed
from tests.fake_clamd import EICAR, FakeClamd
from tests.uploads_helpers import UPLOAD_PROVIDERS, upload


@pytest.fixture
def clamd():
    server = FakeClamd()
    yield server
    server.close()


@pytest.fixture
def scanned_app(make_app, storage_config):
    def build(url: str):
        return make_app(PREFILL_PROVIDER_MODULES=UPLOAD_PROVIDERS, UPLOAD_SCAN_CLAMD=url, **storage_config)

    return build


def keys(app):
    return list(app.extensions["prefill"].storage.keys())


def test_a_clean_file_is_scanned_whole_and_kept(scanned_app, clamd):
    app = scanned_app(clamd.url)
    data = b"a log line\n" * 20_000  # several chunks
    r = upload(app.test_client(), "bug_report", "logs", data[:49_000], "a.log", "text/plain")
    assert r.status_code == 201 and clamd.scanned == [49_000] and len(keys(app)) == 1


def test_an_infected_file_is_a_field_error(scanned_app, clamd):
    app = scanned_app(clamd.url)
    r = upload(app.test_client(), "bug_report", "anything", EICAR + b"\n", "eicar.txt", "text/plain")
    assert r.status_code == 422
    assert r.json["error"]["fields"] == {"file": ["The file did not pass the virus scan."]}
    assert keys(app) == []


@pytest.mark.parametrize("mode", ["error", "hangup", "down"])
def test_an_unscannable_file_is_refused(scanned_app, mode):
    if mode == "down":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            url = f"tcp://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there
        server = None
    else:
        server = FakeClamd(mode)
        url = server.url
    app = scanned_app(url)
    r = upload(app.test_client(), "bug_report", "logs", b"fine\n", "a.log", "text/plain")
    assert r.status_code == 422
    assert r.json["error"]["fields"] == {"file": [
        "The file could not be checked for viruses just now; please try again later."]}
    assert keys(app) == []
    if server:
        server.close()


def test_the_protocol_past_clamds_stream_limit():
    server = FakeClamd(max_stream=100_000)
    scan = Clamd(server.url).stream()
    with pytest.raises(ScanFailed):
        for _ in range(40):
            scan.feed(b"x" * 65536)
        scan.verdict()
    server.close()


@pytest.mark.parametrize("url", ["clamd:3310", "tcp://host", "http://host:3310"])
def test_the_setting_names_a_tcp_address(url):
    with pytest.raises(ValueError, match="tcp://host:port"):
        Clamd(url)
