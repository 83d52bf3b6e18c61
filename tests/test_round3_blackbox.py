"""Round 3 (issue 15), black-box: each of the fifteen defects attacked again
against real servers, started as integrators start them, over real HTTP.

* ``python app.py`` with ``make run``'s environment on a fresh SQLite file (the
  demo, a replaced demo form, declared HTTP forms against a local upstream, a
  webhook receiver verifying with the ``standardwebhooks`` package);
* the same with the default rate limits, and on ``.venv3.13``'s Python;
* ``gunicorn -w 4`` on a fresh SQLite file, and on PostgreSQL
  (``TEST_DATABASE_URL``) behind a TCP proxy the test can make hold all traffic;
* real Chromium for the page matters.

Nothing here imports the product except to mint what an integrator's backend
mints (PyJWT, hmac) and, for defect 3, the engine a worker opens its first
connection with.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import select
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "review15-identity-secret-0123456789abcdef"
HOOK_SECRET = "whsec_" + base64.b64encode(b"review15-webhook-key-0123456789ab").decode()
ADMIN_KEY = "review15-admin-key"
CHROMIUM = os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium")
PY313 = ROOT / ".venv3.13" / "bin" / "python"


def py313_ready() -> bool:
    """``.venv3.13`` there and installed since the requirements last changed (``make
    test-other-python`` refreshes it, after this suite's run on .venv's Python)."""
    stamp = ROOT / ".venv3.13" / ".installed"
    return PY313.exists() and stamp.exists() and all(
        stamp.stat().st_mtime > (ROOT / name).stat().st_mtime for name in ("requirements.txt", "requirements-dev.txt"))
UPSTREAM_SCHEMA = {"fields": [{"name": "q", "type": "text"}]}


# -- what an integrator's backend mints -------------------------------------------
def user_hash(user_id: str) -> str:
    return hmac.new(SECRET.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def token(user_id: str, jti: str | None = None, ttl: int = 300, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": user_id, "iat": now, "exp": now + ttl, **claims}
    if jti:
        payload["jti"] = jti
    return jwt.encode(payload, SECRET, algorithm="HS256")


# -- HTTP ---------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    @property
    def code(self) -> str | None:
        try:
            return self.json["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


def call(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         raw: bytes | None = None, timeout: float = 30) -> Answer:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})}
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
    finally:
        conn.close()
    return Answer(r.status, r.headers, payload, time.perf_counter() - start)


class Browserless:
    """One visitor: keeps the ``prefill_session`` cookie, as a browser would."""

    def __init__(self, port: int, bearer: str | None = None) -> None:
        self.port, self.bearer, self.cookie = port, bearer, None
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                 **kw: Any) -> Answer:
        h = dict(headers or {})
        if self.bearer:
            h["Authorization"] = f"Bearer {self.bearer}"
        with self.lock:
            if self.cookie:
                h["Cookie"] = f"prefill_session={self.cookie}"
        a = call(self.port, method, path, body, h, **kw)
        for value in a.headers.get_all("Set-Cookie") or []:
            m = re.match(r"prefill_session=([^;]*)", value)
            if m:
                with self.lock:
                    self.cookie = m.group(1)
        return a


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the product's processes --------------------------------------------------------
# make run's environment (the Makefile's run target).
MAKE_RUN = {"PREFILL_DEMO": "1", "PREFILL_DEV": "1", "IDENTITY_SECRET": SECRET}
SCRUB = ("PREFILL_PROVIDER_MODULES", "PREFILL_CONFIG", "WEBHOOK_URL", "WEBHOOK_SECRET", "LOG_FORMAT", "LOG_LEVEL",
         "DATABASE_URL", "TRUSTED_PROXIES", "ADHOC_FORMS", "ADMIN_API_KEY", "PREFILL_BUILTIN_FORMS")


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    log_file: Path

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def spawn(log_file: Path, env: dict[str, str], *, python: str = sys.executable, workers: int = 0,
          threads: int = 1, extra: tuple[str, ...] = ()) -> Server:
    """``python app.py`` (workers=0) or ``gunicorn -w N "app:create_app()"``; not waited for."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if k not in SCRUB}
    full.update({"PORT": str(port), "SECRET_KEY": "review15-secret-key", **env})
    if workers:
        cmd = [python, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}",
               *extra, "app:create_app()"]
    else:
        cmd = [python, "app.py"]
    with open(log_file, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Server(port, proc, log_file)


def wait_up(server: Server, path: str = "/healthz", seconds: float = 60) -> Server:
    deadline = time.time() + seconds
    while True:
        try:
            if call(server.port, "GET", path, timeout=2).status == 200:
                return server
        except OSError:
            pass
        if server.proc.poll() is not None or time.time() > deadline:
            server.stop()
            raise RuntimeError(f"server did not start (exit {server.proc.poll()}):\n{server.log[-3000:]}")
        time.sleep(0.05)


# -- what the product talks to -------------------------------------------------------
class Upstream(socketserver.ThreadingTCPServer):
    """An integrator's backend for the HTTP providers, at the socket level: it records
    each request target and answers fast, trickles, or never answers, by path."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self) -> None:
        self.targets: list[str] = []
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class UpstreamHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock, data = self.request, b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        target = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1]
        self.server.targets.append(target)
        body = json.dumps(UPSTREAM_SCHEMA).encode()
        head = [b"HTTP/1.1 200 OK", b"Content-Type: application/json", b"Content-Length: %d" % len(body),
                b"Connection: close"]
        try:
            if target.startswith("/silent"):  # accepts, reads, never sends a byte
                time.sleep(8)
            elif target.startswith("/trickle-status"):  # the status line itself, a byte at a time
                for byte in b"HTTP/1.1 200 OK\r\n":
                    sock.sendall(bytes([byte]))
                    time.sleep(0.3)
            elif target.startswith("/trickle-headers"):  # one header line every 0.5 s
                for line in [*head, *[b"X-Slow-%d: x" % i for i in range(12)], b""]:
                    sock.sendall(line + b"\r\n")
                    time.sleep(0.5)
                sock.sendall(body)
            elif target.startswith("/trickle-body"):  # headers at once, the body a byte every 0.3 s
                sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
                for byte in body:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.3)
            else:
                sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        except OSError:
            pass


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver: records every attempt; the first attempt of each delivery is a 503."""

    daemon_threads = True

    def __init__(self) -> None:
        self.attempts: list[tuple[dict[str, str], bytes, float]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with outer.lock:
                    first = not any(h.get("webhook-id") == headers.get("webhook-id") for h, _, _ in outer.attempts)
                    outer.attempts.append((headers, body, time.time()))
                self.send_response(503 if first else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class HoldingProxy:
    """A TCP proxy in front of PostgreSQL. ``hold()``: it keeps accepting and reading
    but forwards nothing, on new and open connections alike (a database that
    accepts and never answers); ``forward()``: what was held is delivered, late."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.holding = threading.Event()
        self.released = threading.Condition()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self.holding.set()

    def forward(self) -> None:
        self.holding.clear()
        with self.released:
            self.released.notify_all()

    def _wait_forward(self) -> None:
        with self.released:
            while self.holding.is_set() and not self.closed:
                self.released.wait(0.2)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._wait_forward()  # a connection made while holding waits, open, unanswered
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        socks = [client, upstream]
        try:
            while not self.closed:
                ready, _, _ = select.select(socks, [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    self._wait_forward()  # read, then held until forwarding again
                    (upstream if s is client else client).sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.closed = True
        self.forward()
        self.listener.close()


# -- the servers ------------------------------------------------------------------------
REPLACING_MODULE = '''
from schema_providers import provider


@provider("support_ticket", title="Our support")
def support_ticket(args, user):
    return {"fields": [{"name": "message", "type": "textarea", "required": True}]}
'''


def forms_yaml(upstream_port: int) -> str:
    base = f"http://127.0.0.1:{upstream_port}"
    forms = {
        "r3_company": f"{base}/users/{{{{userId}}}}/companies/{{{{userMetadata.company}}}}/forms",
        "r3_headers": f"{base}/trickle-headers/{{{{userId}}}}",
        "r3_status": f"{base}/trickle-status/{{{{userId}}}}",
        "r3_body": f"{base}/trickle-body/{{{{userId}}}}",
        "r3_silent": f"{base}/silent/{{{{userId}}}}",
    }
    out = ["forms:"]
    for name, url in forms.items():
        out += [f"  {name}:", f"    title: {name}", "    http:", f'      url: "{url}"', "      timeout: 1.0",
                "      cacheTtl: 0", '    allowHosts: ["127.0.0.1"]']
    return "\n".join(out) + "\n"


@dataclass
class Fleet:
    demo: Server  # make run, limits high, everything on
    limited: Server  # make run, the default limits
    py313: Server | None  # make run on .venv3.13's Python
    upstream: Upstream
    receiver: Receiver
    tmp: Path
    py313_error: str | None = None

    def newest(self) -> Server:
        """The 3.13 server: skipped without ``.venv3.13``, failed when it would not start there."""
        if self.py313_error:
            pytest.fail(self.py313_error)
        if self.py313 is None:
            pytest.skip("no current .venv3.13 (make test-other-python makes it)")
        return self.py313


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("round3")
    upstream, receiver = Upstream(), Receiver()
    (tmp / "r3_author.py").write_text(REPLACING_MODULE)
    (tmp / "forms.yaml").write_text(forms_yaml(upstream.server_address[1]))
    high = {f"RATELIMIT_{k}": "100000/minute" for k in ("IDENTITY", "SUBMIT", "ADHOC")}
    demo = spawn(tmp / "demo.log", {
        **MAKE_RUN, **high, "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}", "ADHOC_FORMS": "1",
        "PYTHONPATH": str(tmp), "PREFILL_PROVIDER_MODULES": "r3_author", "PREFILL_CONFIG": str(tmp / "forms.yaml"),
        "WEBHOOK_URL": f"http://127.0.0.1:{receiver.server_address[1]}/hook", "WEBHOOK_SECRET": HOOK_SECRET,
        "WEBHOOK_RETRY_BASE_S": "0.2"})
    limited = spawn(tmp / "limited.log", {**MAKE_RUN, "DATABASE_URL": f"sqlite:///{tmp / 'limited.sqlite3'}",
                                          "ADHOC_FORMS": "1", "ADMIN_API_KEY": ADMIN_KEY})
    py313 = None
    if py313_ready():
        py313 = spawn(tmp / "py313.log", {**MAKE_RUN, "DATABASE_URL": f"sqlite:///{tmp / 'py313.sqlite3'}",
                                          "ADHOC_FORMS": "1"}, python=str(PY313))
    servers = [s for s in (demo, limited, py313) if s]
    error = None
    try:
        wait_up(demo)
        wait_up(limited)
        if py313:
            try:
                wait_up(py313)
            except RuntimeError as exc:  # only the 3.13 tests fail for it
                py313, error = None, str(exc)
        yield Fleet(demo, limited, py313, upstream, receiver, tmp, error)
    finally:
        for s in servers:
            s.stop()
        upstream.shutdown()
        receiver.shutdown()


def signed_in(port: int, user_id: str, *, bearer: bool = False, **identify: Any) -> Browserless:
    """A visitor signed in as ``user_id`` with a valid userHash (and what else ``identify`` says)."""
    visitor = Browserless(port)
    if bearer:
        a = visitor("POST", "/api/session", {})
        assert a.status == 201, a.text
        visitor.bearer = a.json["sessionToken"]
    a = visitor("POST", "/api/identify", {"userId": user_id, "userHash": user_hash(user_id), **identify})
    assert a.status == 200, a.text
    return visitor


# == 1: concurrent identity calls on one session =======================================
def race_one_session(port: int, form: str, values: dict[str, Any], rounds: int = 3, threads: int = 16):
    """The issue's scenario: 16 threads share one signed-in cookie; each calls
    session metadata, updateUser, identify (same user, valid userHash) and a submit."""
    user = f"racer-{uuid.uuid4().hex[:8]}"
    visitor = signed_in(port, user)
    cookie = visitor.cookie
    acked_session, acked_user, statuses, cookies_seen = [], [], [], set()
    lock = threading.Lock()

    def one(n: int, r: int) -> None:
        h = {"Cookie": f"prefill_session={cookie}"}
        calls = [("POST", "/api/session/metadata", {"metadata": {f"s{r}_{n}": n}}),
                 ("POST", "/api/user", {"userId": user, "metadata": {f"u{r}_{n}": n}}),
                 ("POST", "/api/identify", {"userId": user, "userHash": user_hash(user)}),
                 ("POST", f"/api/forms/{form}/submissions", {"values": values})]
        for method, path, body in calls:
            a = call(port, method, path, body, h)
            with lock:
                statuses.append((path, a.status, a.code))
                for v in a.headers.get_all("Set-Cookie") or []:
                    cookies_seen.add(v.split(";")[0])
                if a.status == 200 and path == "/api/session/metadata":
                    acked_session.append(f"s{r}_{n}")
                if a.status == 200 and path == "/api/user":
                    acked_user.append(f"u{r}_{n}")

    for r in range(rounds):
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda n: one(n, r), range(threads)))
    me = call(port, "GET", "/api/me", headers={"Cookie": f"prefill_session={cookie}"}).json
    return statuses, acked_session, acked_user, me, cookies_seen, user


def assert_race_clean(result: tuple, rounds: int = 3, threads: int = 16) -> None:
    statuses, acked_session, acked_user, me, cookies_seen, user = result
    bad = [s for s in statuses if s[1] not in (200, 201)]
    assert len(statuses) == rounds * threads * 4
    assert bad == [], f"{len(bad)} of {len(statuses)} failed: {sorted(set(bad))[:10]}"
    assert me["userId"] == user
    lost = [k for k in acked_session if k not in me["sessionMetadata"]]
    lost += [k for k in acked_user if k not in me["userMetadata"]]
    assert lost == [], f"{len(lost)} acknowledged writes lost"
    assert len(acked_session) == len(acked_user) == rounds * threads
    assert cookies_seen == set(), "the same user again rotated the token"


def test_1_concurrent_identity_calls_on_one_session_under_make_run(fleet):
    """Before: 27 of 192 answers 500 (NoResultFound), 24 409 not_identified, acknowledged writes lost."""
    assert_race_clean(race_one_session(fleet.demo.port, "support_ticket", {"message": "race"}))


def test_1_a_sign_in_racing_writes_is_never_a_500(fleet):
    """A real rotation (anonymous -> user) while 15 writes race it: every answer is a
    200 or a 409 ``session_rotated``, and every 200 is in the session afterwards."""
    port = fleet.demo.port
    for _ in range(5):
        visitor = Browserless(port)
        assert visitor("POST", "/api/session/metadata", {"metadata": {"start": 1}}).status == 200
        old = visitor.cookie
        user = f"rot-{uuid.uuid4().hex[:8]}"
        results: list[tuple[str, int, str | None]] = []

        def write(n: int) -> None:
            a = call(port, "POST", "/api/session/metadata", {"metadata": {f"w{n}": n}},
                     {"Cookie": f"prefill_session={old}"})
            results.append((f"w{n}", a.status, a.code))

        def sign_in() -> None:
            a = visitor("POST", "/api/identify", {"userId": user, "userHash": user_hash(user)})
            results.append(("identify", a.status, a.code))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: sign_in() if n == 7 else write(n), range(16)))
        assert visitor.cookie != old  # a sign-in rotates
        assert all(s == 200 or (s == 409 and c == "session_rotated") for _, s, c in results), results
        me = visitor("GET", "/api/me").json
        assert me["userId"] == user
        lost = [k for k, s, _ in results if k != "identify" and s == 200 and k not in me["sessionMetadata"]]
        assert lost == []
        # The old cookie never acts as the new identity (fixation).
        after = call(port, "GET", "/api/me", headers={"Cookie": f"prefill_session={old}"})
        assert after.status == 409 or after.json.get("userId") != user


def test_1_concurrent_identity_calls_on_gunicorn_postgres(pg):
    """The same race on PostgreSQL, across two gunicorn workers."""
    assert_race_clean(race_one_session(pg.server.port, "support_ticket", TICKET))


# == 2: a database that accepts connections and never answers ==========================
TICKET = {"email": "me@example.com", "subject": "Help", "priority": "normal", "message": "It broke"}
REFUND_MODULE = '''
from schema_providers import provider


@provider("refund", title="Refunds, our way")
def refund(args, user):
    return {"fields": [{"name": "orderId", "type": "text", "required": True}]}
'''


@dataclass
class PG:
    server: Server
    proxy: HoldingProxy
    url: str


@pytest.fixture(scope="module")
def pg(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PG]:
    """gunicorn on PostgreSQL behind a proxy the test controls: 2 workers of 16 threads, so
    that the concurrent requests of defect 2 never queue behind each other (with 4 x 4,
    gunicorn hands one worker more connections than it has threads: 2, 4, 6 s waves)."""
    from sqlalchemy.engine import make_url

    tmp = tmp_path_factory.mktemp("pg")
    (tmp / "r3_refund.py").write_text(REFUND_MODULE)
    real = make_url(postgres_url)
    proxy = HoldingProxy((real.host or "127.0.0.1", real.port or 5432))
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    high = {f"RATELIMIT_{k}": "100000/minute" for k in ("IDENTITY", "SUBMIT", "ADHOC")}
    server = spawn(tmp / "gunicorn.log", {**high, "DATABASE_URL": url, "IDENTITY_SECRET": SECRET,
                                          "PREFILL_BUILTIN_FORMS": "1", "PYTHONPATH": str(tmp),
                                          "PREFILL_PROVIDER_MODULES": "r3_refund"}, workers=2, threads=16)
    try:
        yield PG(wait_up(server, "/readyz"), proxy, url)
    finally:
        server.stop()
        proxy.close()


def hidden_inputs(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def test_2_every_endpoint_is_a_503_within_about_2s_when_the_database_holds(pg):
    """Fifteen endpoints at once while the proxy holds everything, pooled connections
    included. Before: identify over 6 s, the HTML form 4.0 s."""
    port = pg.server.port
    ann = signed_in(port, "deadline-ann")
    bearer = signed_in(port, "deadline-bob", bearer=True)
    page = ann("GET", "/forms/support_ticket")
    assert page.status == 200
    form = {**hidden_inputs(page.text), **TICKET}
    assert len(form) > len(TICKET), "the HTML form's hidden inputs were not found"
    embed = token("deadline-cat", jti=uuid.uuid4().hex)
    cookie = {"Cookie": f"prefill_session={ann.cookie}"}
    auth = {"Authorization": f"Bearer {bearer.bearer}"}
    attacks = {
        "identify again": ("POST", "/api/identify", {"userId": "deadline-ann", "userHash": user_hash("deadline-ann")},
                           cookie),
        "identify, new visitor": ("POST", "/api/identify", {"userId": "d-new", "userHash": user_hash("d-new")}, {}),
        "HTML form": ("GET", "/forms/support_ticket", None, cookie),
        "HTML form, first visit": ("GET", "/forms/refund", None, {}),
        "HTML submit": ("POST", "/forms/support_ticket", urllib.parse.urlencode(form).encode(),
                        {**cookie, "Content-Type": "application/x-www-form-urlencoded"}),
        "me": ("GET", "/api/me", None, auth),
        "updateUser": ("POST", "/api/user", {"userId": "deadline-bob", "name": "Bob"}, auth),
        "session metadata": ("POST", "/api/session/metadata", {"metadata": {"a": 1}}, auth),
        "JSON form": ("GET", "/api/forms/support_ticket", None, auth),
        "submit": ("POST", "/api/forms/support_ticket/submissions", {"values": TICKET}, auth),
        "keyed submit": ("POST", "/api/forms/support_ticket/submissions", {"values": TICKET},
                         {**auth, "Idempotency-Key": "k-deadline"}),
        "history": ("GET", "/api/submissions", None, auth),
        "new session": ("POST", "/api/session", {}, {}),
        "embed exchange": ("POST", "/api/embed/session", {"token": embed}, {}),
        "reset": ("POST", "/api/reset", None, cookie),
    }

    def send(item: tuple[str, tuple]) -> tuple[str, Answer]:
        name, (method, path, body, headers) = item
        if isinstance(body, bytes):
            return name, call(port, method, path, raw=body, headers=headers, timeout=20)
        return name, call(port, method, path, body, headers, timeout=20)

    pg.proxy.hold()
    try:
        with ThreadPoolExecutor(len(attacks)) as pool:
            answers = dict(pool.map(send, attacks.items()))
        health = call(port, "GET", "/healthz", timeout=5)
    finally:
        pg.proxy.forward()
    ordered = sorted(answers.items(), key=lambda kv: kv[1].seconds)
    report = "; ".join(f"{n}: {a.status} {a.code} {a.seconds:.2f}s" for n, a in ordered)
    assert all(a.status == 503 for a in answers.values()), report
    assert all(a.code == "store_unavailable" for n, a in answers.items() if not n.startswith("HTML")), report
    assert max(a.seconds for a in answers.values()) < 2.6, report
    assert health.status == 200
    # And it works again on its own once the database answers.
    deadline = time.time() + 15
    while time.time() < deadline:
        if call(port, "GET", "/api/me", headers=auth, timeout=5).status == 200:
            break
        time.sleep(0.2)
    assert call(port, "POST", "/api/forms/support_ticket/submissions", {"values": TICKET}, auth).status == 201
    assert ann("GET", "/forms/support_ticket").status == 200


# == 3: a first start of several workers on a fresh SQLite file =========================
@pytest.fixture(scope="module")
def gsqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``gunicorn -w 4 "app:create_app()"`` on a file that does not exist yet."""
    tmp = tmp_path_factory.mktemp("gsqlite")
    high = {f"RATELIMIT_{k}": "100000/minute" for k in ("IDENTITY", "SUBMIT", "ADHOC")}
    server = spawn(tmp / "gunicorn.log", {**high, "DATABASE_URL": f"sqlite:///{tmp / 'fresh.sqlite3'}",
                                          "IDENTITY_SECRET": SECRET, "PREFILL_BUILTIN_FORMS": "1"}, workers=4)
    try:
        yield wait_up(server, "/readyz")
    finally:
        server.stop()


def test_3_gunicorn_w4_boots_every_worker_on_a_fresh_sqlite_file(gsqlite):
    """Before: a worker could exit 3 on 'database is locked' and halt gunicorn."""
    time.sleep(0.5)  # let the last worker's boot line land
    log = gsqlite.log
    assert gsqlite.proc.poll() is None, log[-2000:]
    assert len(re.findall(r"Booting worker with pid", log)) == 4, log[-2000:]
    assert "exited with code" not in log and "failed to boot" not in log.lower(), log[-2000:]
    assert "database is locked" not in log
    # Every worker answers (4 x 25 requests land on all of them).
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: call(gsqlite.port, "GET", "/forms/support_ticket").status, range(100)))
    assert statuses == [200] * 100


def test_1_concurrent_identity_calls_on_gunicorn_w4_sqlite(gsqlite):
    """The race again, on four gunicorn workers sharing the SQLite file."""
    assert_race_clean(race_one_session(gsqlite.port, "support_ticket", TICKET))


FIRST_CONNECT = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from sqlalchemy import text
from store.db import make_engine
step, files = float(sys.argv[2]), sys.argv[3:]
engines = [make_engine("sqlite:///" + f) for f in files]  # no connection yet
print("ready", flush=True)
t0 = float(sys.stdin.readline())
failures = []
for i, (f, engine) in enumerate(zip(files, engines)):
    time.sleep(max(0.0, t0 + i * step - time.time()))  # every process opens file i at the same instant
    try:
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar()
        if mode != "wal":
            failures.append(f"{f}: {mode}")
    except Exception as exc:
        failures.append(f"{f}: {exc!r}"[:200])
    engine.dispose()
print(len(failures), failures[:3], flush=True)
'''


def test_3_many_processes_open_one_fresh_file_at_once(tmp_path):
    """8 processes open each of 24 fresh files at the same instant with the engine
    a worker opens its first connection with. (The same harness with a bare
    ``sqlite3.connect`` + ``PRAGMA journal_mode=WAL`` gave 2, 4 and 7 'database is
    locked' of 480 on this machine.)"""
    files = [str(tmp_path / f"first-{i}.sqlite3") for i in range(24)]
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_CONNECT, str(ROOT), "0.05", *files], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(8)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        start = time.time() + 0.3
        for p in procs:
            p.stdin.write(f"{start}\n")
            p.stdin.flush()
        outs = [p.stdout.readline().strip() for p in procs]
    finally:
        for p in procs:
            p.wait(timeout=60)
    failed = sum(int(o.split()[0]) for o in outs)
    assert failed == 0, [o for o in outs if not o.startswith("0 ")]


# == 4: an embed link's token is single-use wherever a token is accepted ==================
def embed_link_token(user_id: str) -> str:
    return token(user_id, jti=uuid.uuid4().hex, plan="enterprise")


@pytest.mark.parametrize("first,second", [("embed", "identify"), ("embed", "update"), ("identify", "embed"),
                                          ("update", "identify"), ("identify", "identify"), ("update", "update")])
def test_4_a_used_embed_token_is_dead_everywhere(fleet, first, second):
    """Before: after the exchange, the same token verified at /api/identify for its whole life."""
    port = fleet.demo.port
    user = f"emb-{uuid.uuid4().hex[:8]}"
    t = embed_link_token(user)

    def use(where: str) -> Answer:
        if where == "embed":
            return call(port, "POST", "/api/embed/session", {"token": t})
        if where == "identify":
            return Browserless(port)("POST", "/api/identify", {"userId": user, "identityToken": t})
        return Browserless(port)("POST", "/api/update", {"user": {"userId": user, "identityToken": t}})

    a = use(first)
    assert a.status in (200, 201) and a.json["verified"] is True and a.json["userMetadata"]["plan"] == "enterprise"
    again = use(second)
    assert (again.status, again.code) == (401, "identity_unverified"), again.text


def test_4_a_token_without_jti_is_no_embed_link(fleet):
    port = fleet.demo.port
    t = token("no-jti", plan="enterprise")
    assert call(port, "POST", "/api/embed/session", {"token": t}).code == "identity_unverified"
    # As an identityToken it stays reusable (documented: leave jti out of a token sent more than once).
    for _ in range(3):
        assert Browserless(port)("POST", "/api/identify", {"userId": "no-jti", "identityToken": t}).status == 200


def test_4_a_token_raced_at_identify_across_workers_wins_once(pg):
    """Twelve requests race one jti-token over two workers: the ledger lets exactly one through."""
    t = embed_link_token("race-jti")

    def use(_: int) -> int:
        return Browserless(pg.server.port)("POST", "/api/identify", {"userId": "race-jti", "identityToken": t}).status

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(use, range(12)))
    assert sorted(statuses) == [200] + [401] * 11, statuses


# == 5: an identity value of '..' reaches the upstream path ================================
def upstream_targets_for(fleet: Fleet, visitor: Browserless, form: str = "r3_company") -> tuple[Answer, list[str]]:
    before = len(fleet.upstream.targets)
    answer = visitor("GET", f"/api/forms/{form}")
    return answer, fleet.upstream.targets[before:]


def segments(target: str) -> list[str]:
    return target.split("?")[0].split("/")


@pytest.mark.parametrize("company", ["..", ".", ""])
def test_5_a_dot_segment_value_is_refused_before_any_request(fleet, company):
    """Before: '..' went out as /users/<id>/companies/../forms."""
    visitor = signed_in(fleet.demo.port, f"dots-{uuid.uuid4().hex[:6]}", metadata={"company": company})
    answer, sent = upstream_targets_for(fleet, visitor)
    assert (answer.status, answer.code) == (502, "provider_unavailable")
    assert sent == []
    assert "/companies/" not in answer.text and "127.0.0.1" not in answer.text  # no URL in the answer


@pytest.mark.parametrize("user_id", ["..", "."])
def test_5_a_dot_segment_user_id_is_refused_too(fleet, user_id):
    visitor = signed_in(fleet.demo.port, user_id, metadata={"company": "acme"})
    answer, sent = upstream_targets_for(fleet, visitor)
    assert (answer.status, sent) == (502, [])


@pytest.mark.parametrize("company", ["%2e%2e", "%2E%2E", ".%2e", "%2e", "..%2f", "...", ". ."])
def test_5_encoded_look_alikes_stay_one_segment_that_decodes_to_no_dot_segment(fleet, company):
    """Values that only look like dots are sent, encoded once, as one segment."""
    visitor = signed_in(fleet.demo.port, f"look-{uuid.uuid4().hex[:6]}", metadata={"company": company})
    answer, sent = upstream_targets_for(fleet, visitor)
    assert answer.status == 200 and len(sent) == 1
    parts = segments(sent[0])
    assert len(parts) == 6 and parts[:2] == ["", "users"] and parts[3] == "companies" and parts[5] == "forms"
    assert urllib.parse.unquote(parts[4]) == company  # exactly the value, encoded once
    assert urllib.parse.unquote(parts[4]) not in (".", "..")


@pytest.mark.parametrize("company", ["../x", "a/../.."])
def test_5_no_value_makes_a_dot_segment_once_the_upstream_decodes_the_path(fleet, company):
    """A slash in a value is encoded (%2F), but a server that decodes it before resolving
    dot segments (nginx 1.22, proxy_pass http://backend/: '/companies/a%2F..%2F../forms'
    reaches the backend as '/users/<id>/forms') gets the issue's path all the same."""
    visitor = signed_in(fleet.demo.port, f"slash-{uuid.uuid4().hex[:6]}", metadata={"company": company})
    answer, sent = upstream_targets_for(fleet, visitor)
    decoded = [urllib.parse.unquote(t) for t in sent]
    dot_segments = [t for t in decoded if {".", ".."} & set(re.split(r"[/\\]", t.split("?")[0]))]
    assert dot_segments == [], f"{answer.status}: sent {sent}"


# == 6: the provider timeout bounds connect, headers and body ===============================
def test_6_the_timeout_is_one_deadline_over_the_whole_exchange(fleet):
    """timeout: 1.0 against headers trickled a line per 0.5 s (before: 504 after 6.0 s), a
    status line trickled a byte per 0.3 s, a body trickled the same way, and silence."""
    visitor = signed_in(fleet.demo.port, "slowpoke")
    attacks = [(surface, form) for form in ("r3_headers", "r3_status", "r3_body", "r3_silent")
               for surface in ("/api/forms/", "/forms/")]
    with ThreadPoolExecutor(len(attacks)) as pool:
        answers = list(pool.map(lambda a: (a, visitor("GET", a[0] + a[1], timeout=20)), attacks))
    report = "; ".join(f"{s}{f}: {a.status} {a.seconds:.2f}s" for (s, f), a in answers)
    assert all(a.status == 504 for _, a in answers), report
    assert all(a.code == "provider_timeout" for (s, _), a in answers if s == "/api/forms/"), report
    assert max(a.seconds for _, a in answers) < 1.6, report  # timeout: 1.0 (before: 6.0 s for trickled headers)


# == 7: webhook deliveries signed the Standard Webhooks way ==================================
def deliveries_of(fleet: Fleet, submission_id: str, count: int, seconds: float = 20) -> list[tuple[dict, bytes, float]]:
    deadline = time.time() + seconds
    while True:
        with fleet.receiver.lock:
            got = [a for a in fleet.receiver.attempts if json.loads(a[1])["submission"]["id"] == submission_id]
        if len(got) >= count or time.time() > deadline:
            return got
        time.sleep(0.05)


def test_7_deliveries_verify_with_standardwebhooks_and_a_replay_does_not(fleet, monkeypatch):
    """Both attempts of a delivery (the first answered 503) verify with the PyPI package;
    a tampered id, timestamp or body does not, nor the delivery 5 minutes later."""
    from standardwebhooks import webhooks
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    visitor = signed_in(fleet.demo.port, "hooked")
    sent = visitor("POST", "/api/forms/support_ticket/submissions", {"values": {"message": "deliver me"}})
    assert sent.status == 201
    attempts = deliveries_of(fleet, sent.json["id"], 2)  # the receiver answers the first attempt 503
    assert len(attempts) == 2
    hook = Webhook(HOOK_SECRET)
    for headers, body, received in attempts:
        event = hook.verify(body, headers)
        assert event["submission"]["id"] == sent.json["id"] and event["event"] == "submission.created"
        assert abs(int(headers["webhook-timestamp"]) - received) < 5
        # The legacy signature, still sent: hex HMAC-SHA256 of the body keyed with the secret as written.
        legacy = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-prefill-signature"] == f"sha256={legacy}"
        assert headers["x-prefill-delivery"] == headers["webhook-id"]
    (h1, _, _), (h2, body, _) = attempts
    assert h1["webhook-id"] == h2["webhook-id"] and int(h2["webhook-timestamp"]) >= int(h1["webhook-timestamp"])

    tampered = [{**h2, "webhook-id": h2["webhook-id"][:-1] + ("0" if h2["webhook-id"][-1] != "0" else "1")},
                {**h2, "webhook-timestamp": str(int(h2["webhook-timestamp"]) + 1)}]
    for headers in tampered:
        with pytest.raises(WebhookVerificationError):
            hook.verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        hook.verify(body.replace(b"deliver me", b"deliver it"), h2)
    with pytest.raises(WebhookVerificationError):
        hook.verify(body, {k: v for k, v in h2.items() if k != "webhook-timestamp"})

    # The same delivery replayed 5 minutes and a second later is refused by the library.
    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return datetime.now(tz) + timedelta(seconds=301)

    monkeypatch.setattr(webhooks, "datetime", Later)
    with pytest.raises(WebhookVerificationError, match="too old"):
        hook.verify(body, h2)


# == 8: ad-hoc forms are no oracle for a user's hidden values ==================================
PIN_SCHEMA = {"fields": [{"name": f"s{i}", "type": "select",
                          "options": [{"label": f"{j:04d}", "value": f"{j:04d}"}
                                      for j in range(i * 100, i * 100 + 100)]}
                         for i in range(100)]}


@pytest.fixture(scope="module")
def pin_users(fleet: Fleet) -> tuple[Browserless, Browserless]:
    """Two verified bearer sessions: one whose backend set ``supportPinSecret``, one without."""
    port = fleet.demo.port
    secret = signed_in(port, "pin-holder", bearer=True,
                       identityToken=token("pin-holder", supportPinSecret="7395", plan="pro"))
    plain = signed_in(port, "pin-less", bearer=True, identityToken=token("pin-less", plan="pro"))
    return secret, plain


def test_8_resolve_returns_all_10000_options_alike_with_and_without_the_secret(pin_users):
    """Before: 100 selects x 100 options came back with exactly '7395' blanked."""
    secret, plain = pin_users
    a, b = secret("POST", "/api/forms/resolve", PIN_SCHEMA), plain("POST", "/api/forms/resolve", PIN_SCHEMA)
    assert a.status == b.status == 200
    values = [o["value"] for f in a.json["fields"] for o in f["options"]]
    assert len(values) == 10000 and "7395" in values and len(set(values)) == 10000
    assert a.raw == b.raw


def test_8_the_panels_render_is_no_oracle_either(pin_users):
    def render(who: Browserless, schema: dict) -> Answer:
        body = urllib.parse.urlencode({"prefill_schema": json.dumps(schema)}).encode()
        return who("POST", "/widget/adhoc/render?embed=1", raw=body,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})

    secret = pin_users[0]
    pages = [render(who, PIN_SCHEMA) for who in pin_users]
    assert [p.status for p in pages] == [200, 200]
    options = [re.findall(r'<option[^>]*value="(\d{4})"', p.text) for p in pages]
    assert len(options[0]) == 10000 and options[0] == options[1]
    templated = {"fields": [{"name": "t", "type": "text", "label": "pin[{{userMetadata.supportPinSecret}}]",
                             "defaultValue": "{{userMetadata.supportPinSecret}}"}]}
    page = render(secret, templated)
    assert page.status == 200 and "7395" not in page.text and "pin[]" in page.text


def test_8_ad_hoc_submissions_treat_the_secret_like_any_value(pin_users):
    schema = {"fields": [*PIN_SCHEMA["fields"][73:74], {"name": "t", "type": "text"},
                         {"name": "d", "type": "text", "defaultValue": "7395"},
                         {"name": "supportPinSecret", "type": "text"}]}
    values = {"s73": "7395", "t": "my pin is 7395", "d": "7395"}
    answers = [who("POST", "/api/forms/adhoc/submissions", {"schema": schema, "values": values}) for who in pin_users]
    assert [a.status for a in answers] == [201, 201], [a.text for a in answers]
    for a in answers:
        assert {k: a.json["values"][k] for k in values} == values
        assert a.json["values"]["supportPinSecret"] in (None, "")
    resolved = pin_users[0]("POST", "/api/forms/resolve", schema).json["fields"]
    assert {f["name"]: f["value"] for f in resolved}["d"] == "7395"


def find_pin_by_form_args(who: Browserless) -> tuple[str, int]:
    """A binary search over the demo refund form's ``orderId`` argument, which the
    provider echoes as the field's default: a value carrying the secret is blanked."""
    lo, hi, requests = 0, 10000, 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        query = urllib.parse.urlencode({"orderId": " ".join(f"{j:04d}" for j in range(lo, mid))})
        fields = who("GET", f"/api/forms/refund?{query}").json["fields"]
        requests += 1
        if {f["name"]: f["value"] for f in fields}["orderId"] == "":
            hi = mid
        else:
            lo = mid
    return f"{lo:04d}", requests


def test_8_a_provider_form_is_no_oracle_through_its_arguments(pin_users):
    """The same question asked through a provider form: the demo refund form puts the
    orderId argument in the field's default, and the sweep blanks it when it holds the PIN."""
    secret, plain = pin_users
    for order in ("7395", "ORD-7395", "7396"):
        a = secret("GET", f"/api/forms/refund?orderId={order}").json["fields"]
        b = plain("GET", f"/api/forms/refund?orderId={order}").json["fields"]
        assert a == b, f"found {find_pin_by_form_args(secret)} (pin, requests)"


# == 9: ad-hoc resolutions and wrong admin keys are limited ========================================
def test_9_ad_hoc_resolutions_are_rate_limited_per_session(fleet):
    """Before: 150 resolutions of a 5,000-option schema from one session, all 200."""
    port = fleet.limited.port
    schema = {"fields": [{"name": "s", "type": "select",
                          "options": [{"label": str(j), "value": str(j)} for j in range(1000)]}]}
    json_user = Browserless(port, call(port, "POST", "/api/session", {}).json["sessionToken"])
    statuses = [json_user("POST", "/api/forms/resolve", schema).status for _ in range(32)]
    assert statuses == [200] * 30 + [429, 429]
    panel_user = Browserless(port, call(port, "POST", "/api/session", {}).json["sessionToken"])
    body = urllib.parse.urlencode({"prefill_schema": json.dumps(schema)}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [panel_user("POST", "/widget/adhoc/render?embed=1", raw=body, headers=form) for _ in range(32)]
    assert [a.status for a in answers] == [200] * 30 + [429, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_9_wrong_admin_keys_are_limited_per_address(fleet):
    port = fleet.limited.port
    wrong = [call(port, "GET", "/api/admin/submissions", headers={"Authorization": "Bearer nope"}) for _ in range(12)]
    assert [a.status for a in wrong] == [401] * 10 + [429, 429]
    assert int(wrong[-1].headers["Retry-After"]) > 0


# == 10: per-session limits, a per-address ceiling, and a warning about X-Forwarded-For ===========
def test_10_forty_sessions_behind_one_address_are_not_throttled(fleet):
    """Before: 30 identity calls a minute per address, shared by every user behind it."""
    port = fleet.limited.port
    visitors = []
    for _ in range(40):  # each opens a form page first: that starts its session (cookie)
        v = Browserless(port)
        assert v("GET", "/forms/support_ticket").status == 200 and v.cookie
        visitors.append(v)
    statuses = []
    for n, v in enumerate(visitors):  # three identity calls each: 120 from one address
        user = f"nat-{n}"
        statuses += [v("POST", "/api/session/metadata", {"metadata": {"a": 1}}).status,
                     v("POST", "/api/identify", {"userId": user, "userHash": user_hash(user)}).status,
                     v("POST", "/api/session/metadata", {"metadata": {"b": 2}}).status]
    assert statuses == [200] * 120
    # One session past its own budget (30/minute) is limited; the others are not. (The sign-in
    # rotated its token: the new token has spent 1 call.)
    busy = visitors[0]
    more = [busy("POST", "/api/session/metadata", {"metadata": {"c": i}}).status for i in range(30)]
    assert more == [200] * 29 + [429]
    assert visitors[1]("POST", "/api/session/metadata", {"metadata": {"c": 1}}).status == 200


def test_10_x_forwarded_for_without_trusted_proxies_is_warned_about_once(fleet):
    port = fleet.limited.port
    visitor = Browserless(port)
    assert visitor("GET", "/forms/refund").status == 200  # a session, without spending the address's budget
    for i in range(6):  # (a limited call: the limits are what the header would change)
        a = visitor("POST", "/api/session/metadata", {"metadata": {"i": i}}, {"X-Forwarded-For": f"203.0.113.{i}"})
        assert a.status == 200
    time.sleep(0.2)
    lines = [line for line in fleet.limited.log.splitlines() if "X-Forwarded-For" in line]
    assert len(lines) == 1 and "TRUSTED_PROXIES" in lines[0] and "127.0.0.1" in lines[0], lines
    assert "203.0.113" not in fleet.limited.log


def test_10_forty_new_visitors_behind_one_address_all_get_a_session(fleet):
    """What widget.js does first for every new visitor (``POST /api/session``, no token yet)."""
    port = fleet.limited.port  # (runs last on this server: it spends the address's budget)
    first = [call(port, "POST", "/api/session", {}).status for _ in range(40)]
    assert first == [201] * 40, f"{first.count(429)} of 40 refused: 429 from #{first.index(429) + 1}"


# == 11: radio options, one per line, normal weight, on the real page ==============================
needs_browser = pytest.mark.skipif(not shutil.which(CHROMIUM) and os.environ.get("PREFILL_REQUIRE_BROWSER") != "1",
                                   reason="Chromium not installed (make test installs it)")


@needs_browser
def test_11_radio_options_are_one_per_line_in_normal_weight(fleet, browser):
    """Before: 'Damaged ◯ Not as described ◯ Other' in one bold row at 1280 px."""
    base = f"http://127.0.0.1:{fleet.demo.port}"
    cases = [(1280, "light", "/forms/refund"), (1280, "dark", "/forms/refund"), (375, "light", "/forms/refund"),
             (1280, "light", "/forms/refund?embed=1")]
    for width, scheme, path in cases:
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        try:
            page = context.new_page()
            page.goto(base + path)
            boxes = page.eval_on_selector_all("label.choice", """els => els.map(e => {
                const r = e.getBoundingClientRect(), s = getComputedStyle(e);
                return {text: e.textContent.trim(), top: Math.round(r.top), left: Math.round(r.left),
                        weight: s.fontWeight, display: s.display};
            })""")
            where = f"{width}px {scheme} {path}: {boxes}"
            assert [b["text"] for b in boxes] == ["Damaged", "Not as described", "Other"], where
            tops = [b["top"] for b in boxes]
            assert tops == sorted(set(tops)) and len(set(tops)) == 3, where
            assert len({b["left"] for b in boxes}) == 1, where
            assert {b["weight"] for b in boxes} == {"400"} and {b["display"] for b in boxes} == {"block"}, where
            # The checkbox's own label reads on the checkbox's line, and the field labels stay bold.
            check = page.eval_on_selector("label[for=keepUpdated]", "e => getComputedStyle(e).fontWeight")
            legend = page.eval_on_selector("legend", "e => getComputedStyle(e).fontWeight")
            email = page.eval_on_selector("label[for=email]", "e => getComputedStyle(e).fontWeight")
            assert check == "400" and legend == email and int(email) >= 600, (check, legend, email)
        finally:
            context.close()


# == 12: a replaced demo form is reported at start ====================================================
def test_12_the_replacement_of_a_demo_form_is_logged_under_make_run_and_gunicorn(fleet, pg):
    """Before: the line was logged before logging was configured and never appeared."""
    line = re.compile(r"INFO .*form 'support_ticket': r3_author\.support_ticket replaces the built-in demo form")
    assert line.search(fleet.demo.log), fleet.demo.log[:2000]
    assert "form 'refund': r3_refund.refund replaces the built-in demo form" in pg.server.log, pg.server.log[:2000]
    # And the author's form is the one served.
    assert call(fleet.demo.port, "GET", "/api/forms/support_ticket").json["fields"][0]["name"] == "message"


# == 13: the refund form's greeting without a name ======================================================
def test_13_the_refund_form_reads_well_without_a_name(fleet):
    """Before: 'Hi , tell us which order to refund.'"""
    port = fleet.demo.port
    greeting = re.compile(r"Hi\s*[,.!]")
    visitors = {"anonymous": Browserless(port), "no name": signed_in(port, "nameless"),
                "blank name": signed_in(port, "blank", name="   "),
                "a number": signed_in(port, "num", metadata={"name": 7})}
    for who, v in visitors.items():
        text = v("GET", "/api/forms/refund").json["description"]
        assert text == "Tell us which order to refund.", (who, text)
        page = v("GET", "/forms/refund").text
        assert "Tell us which order to refund." in page and not greeting.search(page), who
    named = signed_in(port, "named", name="Ann <b>")
    assert named("GET", "/api/forms/refund").json["description"] == "Hi Ann <b>, tell us which order to refund."
    page = named("GET", "/forms/refund").text
    assert "Hi Ann &lt;b&gt;, tell us which order to refund." in page


# == 14: page assets: gzipped CSS, a long-lived theme, no 404 for a client-registered form ===============
def test_14_stylesheets_are_compressed_and_versioned_for_a_year(fleet):
    """Before: prefill.css not compressed, /theme.css cached for an hour."""
    port = fleet.demo.port
    page = call(port, "GET", "/forms/refund").text
    links = re.findall(r'<link[^>]+href="([^"]+)"', page)
    css = next(u for u in links if u.startswith("/static/prefill.css?v="))
    theme = next(u for u in links if u.startswith("/theme.css?v="))
    for url in (css, theme):
        a = call(port, "GET", url, headers={"Accept-Encoding": "gzip"})
        assert a.status == 200 and a.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert "text/css" in a.headers["Content-Type"]
    gz = call(port, "GET", css, headers={"Accept-Encoding": "gzip, deflate, br"})
    plain = call(port, "GET", css)
    assert gz.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in gz.headers["Vary"]
    assert gzip.decompress(gz.raw) == plain.raw and len(gz.raw) < len(plain.raw) / 2
    assert plain.headers.get("Content-Encoding") is None
    # Unversioned (or stale-versioned) URLs are never pinned for a year: they revalidate.
    for url in ("/static/prefill.css", "/theme.css", "/static/prefill.css?v=0000", "/theme.css?v=0000"):
        a = call(port, "GET", url, headers={"Accept-Encoding": "gzip"})
        assert a.status == 200 and "immutable" not in a.headers["Cache-Control"], (url, a.headers["Cache-Control"])
        again = call(port, "GET", url, headers={"Accept-Encoding": "gzip", "If-None-Match": a.headers["ETag"]})
        assert again.status == 304, url


@needs_browser
def test_14_a_client_registered_form_opens_without_a_404(fleet, browser):
    """Before: every open logged a 404 (GET /api/forms/<name> as an existence check)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    failures: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and failures.append(f"console: {m.text}"))
        page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
        page.on("pageerror", lambda e: failures.append(f"pageerror: {e}"))
        urls: list[str] = []
        context.on("request", lambda r: urls.append(urllib.parse.urlsplit(r.url).path))
        page.goto(f"http://127.0.0.1:{fleet.demo.port}/demo/widget")
        page.wait_for_function("() => window.prefill && typeof window.prefill.getVisitorId === 'function'")
        shown = page.evaluate("""async () => {
            prefill.registerFormSchema({r3_client: (args, user) => ({title: "Client form",
                fields: [{name: "q", type: "text", label: "Question"}]})});
            const out = [];
            for (let i = 0; i < 2; i++) {
                out.push(await prefill.showForm("r3_client"));
                await prefill.hideForm();
            }
            out.push(await prefill.showForm("support_ticket"));
            return out;
        }""")
        page.wait_for_timeout(300)  # late console lines land
        assert [s.get("success") for s in shown] == [True, True, True], shown
        assert failures == []
        assert urls.count("/widget/adhoc/render") == 2  # the client's form, shown twice as an ad-hoc one
        assert "/api/forms/r3_client" not in urls and urls.count("/api/forms") == 1  # one list per page
    finally:
        context.close()


# == 15: every supported Python ==========================================================================
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def which_python(tmp: Path, names: dict[str, Path]) -> str:
    """``make which-python`` with a PATH holding only ``make`` and these interpreters."""
    tmp.mkdir()
    (tmp / "make").symlink_to(shutil.which("make"))
    for name, target in names.items():
        (tmp / name).symlink_to(target)
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "which-python"], env={"PATH": str(tmp), "HOME": str(tmp)},
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def test_15_make_takes_the_newest_python3_that_is_3_11_or_later(tmp_path):
    """Before: 'python3.11: command not found' on a machine with only 3.12 or 3.13."""
    def version(minor: str) -> Path:
        found = sorted(PYENV.glob(f"{minor}.*/bin/python{minor}"))
        if not found:
            pytest.skip(f"no Python {minor} in pyenv")
        return found[-1]

    old, v12, v13 = version("3.10"), version("3.12"), version("3.13")
    assert which_python(tmp_path / "a", {"python3.12": v12, "python3": old}) == "python3.12"
    assert which_python(tmp_path / "b", {"python3": v13}) == "python3"
    assert which_python(tmp_path / "c", {"python3.13": old, "python3": v12}) == "python3"  # a misnamed old one
    assert which_python(tmp_path / "d", {"python3": old}) == ""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'requires-python\s*=\s*">=3\.11"', pyproject)
    assert all(f"Python :: 3.{n}" in pyproject for n in (11, 12, 13))


DEEP = [100, 513, 5000, 200_000]


def deep_answers(port: int) -> list[tuple[int, str | None]]:
    out = []
    for depth in DEEP:
        nested = "[" * depth + "]" * depth
        out.append(call(port, "POST", "/api/identify", raw=f'{{"userId": "x", "metadata": {{"a": {nested}}}}}'
                        .encode()))
        out.append(call(port, "POST", "/api/session/metadata", raw=nested.encode()))
    in_string = json.dumps({"metadata": {"a": "[" * 5000}}).encode()
    out.append(call(port, "POST", "/api/session/metadata", raw=in_string))
    return [(a.status, a.code) for a in out]


def test_15_a_5000_deep_body_is_invalid_json_on_3_11_and_3_13(fleet):
    """Before: invalid_json on 3.11, validation_failed on 3.13."""
    py313 = fleet.newest()
    mine, newest = deep_answers(fleet.demo.port), deep_answers(py313.port)
    assert mine == newest
    assert mine[2:] == [(400, "invalid_json")] * 6 + [(200, None)]
    assert mine[:2] == [(400, "validation_failed")] * 2  # 100 levels: parsed, then past the 32-level rule
    assert "3.13" in os.path.realpath(f"/proc/{py313.proc.pid}/exe")  # python app.py on 3.13 indeed


def test_15_the_panels_posted_schema_5000_deep_is_a_400_on_both(fleet):
    """Before: a 500 (RecursionError) on 3.11, a 400 on 3.13."""
    statuses = []
    for port in (fleet.demo.port, fleet.newest().port):
        session = call(port, "POST", "/api/session", {}).json["sessionToken"]
        schema = '{"fields": ' + "[" * 5000 + "]" * 5000 + "}"
        body = urllib.parse.urlencode({"prefill_schema": schema}).encode()
        a = call(port, "POST", "/widget/adhoc/render?embed=1", raw=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {session}"})
        statuses.append(a.status)
    assert statuses == [400, 400]
