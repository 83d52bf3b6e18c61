"""Fixtures: the app is built by the factory on a fresh database, on SQLite and
on a real PostgreSQL server (``TEST_DATABASE_URL``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from store.db import make_engine, migrate
from web.identity.verify import sign_identity_token, user_hash

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TABLES = ("webhook_deliveries", "idempotency_keys", "submissions", "sessions", "users", "used_tokens",
          "rotated_tokens", "attachments")
SECRET = "test-identity-secret-0123456789abcdef0123"
TEST_PROVIDERS = "tests.providers_fixture"


def _postgres_ready() -> bool:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'prefill.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not _postgres_ready():
        if os.environ.get("PREFILL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_URL}")
        pytest.skip("PostgreSQL not reachable (set PREFILL_REQUIRE_POSTGRES=1 to fail instead)")
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        for table in (*TABLES, "alembic_version"):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    migrate(engine)
    engine.dispose()
    return PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def wipe(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Any]]:
    """Build an app on the current backend's fresh database, with config overrides."""
    wipe(db_url)
    built = []

    def factory(**config: Any) -> Any:
        base = {
            "DATABASE_URL": db_url, "SECRET_KEY": "test-secret-key", "AUTO_MIGRATE": False,
            "PREFILL_PROVIDER_MODULES": [TEST_PROVIDERS], "TESTING": True, "PREFILL_BUILTIN_FORMS": True,
            "RATELIMIT_ENABLED": False,  # on in production; tests/test_limits.py tests it
            "GC_FREEZE_EVERY": 0,  # a frozen test process would keep every earlier app; test_collector.py tests it
        }
        base.update(config)
        app = create_app(base)
        built.append(app)
        return app

    yield factory
    for app in built:
        if app.extensions["prefill"].checkpoints is not None:
            app.extensions["prefill"].checkpoints.close()
        app.extensions["prefill"].sessions.close()
        app.extensions["prefill"].db.dispose()
        app.extensions["prefill"].sessions.read_engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def verified_app(make_app: Callable[..., Any]) -> Any:
    return make_app(IDENTITY_SECRET=SECRET, ADMIN_API_KEY="admin-key")


def proof(user_id: str, **claims: Any) -> dict[str, str]:
    """What an integrator's backend hands its front end for ``user_id``."""
    out = {"userHash": user_hash(SECRET, user_id)}
    if claims:
        out["identityToken"] = sign_identity_token(SECRET, user_id, claims)
    return out


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port, for the S3 storage
    backend (no MinIO can be installed here: moto is the one stand-in); its URL."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto's S3 server did not start")
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    import boto3

    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="prefill-test")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["file", "s3"])
def storage_config(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, str]:
    """The settings of a fresh storage of each backend: a folder, or a prefix of the test bucket."""
    if request.param == "file":
        return {"UPLOAD_STORAGE_URL": (tmp_path / "uploads").as_uri()}
    import uuid

    endpoint = request.getfixturevalue("s3_server")
    return {"UPLOAD_STORAGE_URL": f"s3://prefill-test/{uuid.uuid4().hex}", "S3_ENDPOINT_URL": endpoint}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, driven by Playwright), per browser test module:
    Playwright's sync API keeps an event loop running in this thread while it
    is open, which the async-provider tests of later modules must not meet."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("PREFILL_CHROMIUM", "/usr/bin/chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()
