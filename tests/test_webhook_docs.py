"""docs/webhooks.md's examples, run: the secret-making command, the receiver with
the ``standardwebhooks`` library (served for real, fed by the worker), the
hand-written check, the headers as printed, and the worker command."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from webhooks.signing import Signer, webhook_key
from webhooks.worker import Worker

from .test_crash import ROOT
from .test_webhooks import SECRET, TICKET, WHSEC, Receiver, deliver, deliveries, drain, hook_app

DOC = (ROOT / "docs" / "webhooks.md").read_text()


def snippet(name: str) -> str:
    match = re.search(rf"<!-- snippet: {name} -->\n```\w*\n(.*?)```", DOC, re.S)
    assert match, f"docs/webhooks.md has no snippet {name!r}"
    return match.group(1)


def run(name: str, **namespace: Any) -> dict[str, Any]:
    exec(snippet(name), namespace)  # the documented example itself
    return namespace


def test_the_documented_command_makes_a_secret_the_worker_and_library_take():
    command = snippet("new-secret").strip()
    assert command.startswith("python3 ")
    out = subprocess.run(shlex.split(command.replace("python3", sys.executable, 1)), capture_output=True,
                         text=True, check=True).stdout.strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", out)
    assert len(webhook_key(out)) == 32
    assert Webhook(out).verify(b"{}", Signer(out).headers("dlv_1", b"{}", int(time.time()))) == {}


@pytest.fixture
def serve() -> Iterator[Any]:
    """Serves a WSGI app on 127.0.0.1 for the test; returns its base URL."""
    servers = []

    def start(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("secret", [WHSEC, SECRET])
def test_the_documented_receiver_takes_deliveries_and_refuses_replays(make_app, serve, monkeypatch, capsys,
                                                                       secret):
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    receiver = run("receiver", __name__="documented_receiver")["app"]
    app = hook_app(make_app, serve(receiver) + "/prefill", WEBHOOK_SECRET=secret)
    c = app.test_client()
    sid = c.post("/api/forms/support_ticket/submissions", json={"values": TICKET}).json["id"]
    drain(Worker.from_app(app))
    assert [d.status for d in deliveries(app)] == ["delivered"]
    assert re.search(rf"^dlv_\w+ {sid}$", capsys.readouterr().out, re.M)

    c.post("/api/forms/support_ticket/submissions", json={"values": {**TICKET, "subject": "again"}})
    late = Worker.from_app(app)
    late.clock = lambda: time.time() - 6 * 60  # what a delivery replayed 6 minutes on carries
    drain(late)
    outcomes = sorted((d.status, d.last_error or "") for d in deliveries(app))
    assert outcomes == [("delivered", ""), ("failed", "HTTP 401 (permanent)")]


@pytest.mark.parametrize("secret", [WHSEC, WHSEC.rstrip("="), SECRET])
def test_the_documented_hand_check_agrees_with_the_library(make_app, secret):
    verify = run("by-hand")["verify"]
    [fresh] = deliver(make_app, secret)
    [old] = deliver(make_app, secret, clock=lambda: time.time() - 6 * 60)
    body, headers = fresh["body"], Headers(fresh["headers"])
    assert verify(secret, body, headers)
    assert not verify(secret, old["body"], Headers(old["headers"]))  # replayed
    stamp = int(headers["webhook-timestamp"])
    for tampered_body, name, value in [
        (body + b" ", None, None),
        (body, "webhook-id", "dlv_other"),
        (body, "webhook-timestamp", str(stamp - 1)),
        (body, "webhook-timestamp", "soon"),
        (body, "webhook-signature", headers["X-Prefill-Signature"]),
        (body, "webhook-id", None),
    ]:
        changed = Headers(headers)
        if name:
            changed.remove(name)
            if value is not None:
                changed[name] = value
        assert not verify(secret, tampered_body, changed)


def test_the_documented_headers_are_the_ones_sent(make_app):
    head = re.search(r"```http\n(.*?)\n\n", DOC, re.S).group(1)  # the request line and headers
    documented = {line.split(":", 1)[0].lower() for line in head.splitlines()[1:]}
    [attempt] = deliver(make_app, WHSEC)
    sent = {name.lower() for name in attempt["headers"]}
    assert documented <= sent
    assert {n for n in sent if n.startswith(("webhook-", "x-prefill-"))} <= documented


def test_the_documented_worker_command_delivers(make_app):
    command = next(line for line in re.findall(r"```sh\n(.*?)```", DOC, re.S) if "prefill worker" in line)
    assert command.split("#")[0].split() == ["flask", "--app", "app", "prefill", "worker"]
    receiver = Receiver()
    try:
        app = hook_app(make_app, receiver.url)
        app.test_client().post("/api/forms/support_ticket/submissions", json={"values": TICKET})
        result = app.test_cli_runner().invoke(args=["prefill", "worker", "--once"])
        assert result.exit_code == 0 and "processed 1" in result.output
        assert [d.status for d in deliveries(app)] == ["delivered"]
    finally:
        receiver.close()
