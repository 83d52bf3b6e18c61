"""Database engine set-up and migrations: the only shared state between instances."""

from __future__ import annotations

import fcntl
import json
import random
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# json.dumps with options builds an encoder per call: half its cost for the
# small objects a submit stores (seven of them).
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept (what every stored JSON column holds)."""
    return _ENCODE(value)


# An unreachable database is a 503 within about this long, never a hung worker.
STORE_TIMEOUT_S = 2


def _pg_timeouts(url: str) -> dict[str, Any]:
    """libpq: give up connecting after 2 s, and on a connection whose sent data
    goes unacknowledged for 2 s (a dead peer); keepalives find idle dead ones."""
    if make_url(url).get_backend_name() != "postgresql":
        return {}
    return {"connect_timeout": STORE_TIMEOUT_S, "tcp_user_timeout": STORE_TIMEOUT_S * 1000,
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 2, "keepalives_count": 3}


# How long a first connection may keep retrying the switch of a fresh file to WAL.
WAL_SWITCH_S = 30.0


def _switch_to_wal(cursor: sqlite3.Cursor, budget: float = WAL_SWITCH_S) -> None:
    """Put the file in WAL mode, once: the mode is stored in the file.

    Connections opening a fresh file together race to switch it, and SQLite
    answers the losers "database is locked" at once, without the busy handler;
    they retry with jittered backoff. A file already in WAL is only read.
    """
    give_up, pause = time.monotonic() + budget, 0.002
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + pause > give_up:
                raise
        time.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, 0.1)


def _with_deadline(engine: Engine) -> Engine:
    """psycopg connections that keep the request's database deadline (store.deadline)."""
    if engine.dialect.driver == "psycopg":
        from . import pgconn

        event.listen(engine, "do_connect", pgconn.connect)
    return engine


def make_engine(url: str) -> Engine:
    """An engine; SQLite files get WAL (durable on process crash) and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            _switch_to_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return _with_deadline(create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True,
                                        pool_timeout=STORE_TIMEOUT_S, connect_args=_pg_timeouts(url)))


def make_read_engine(url: str, engine: Engine) -> Engine:
    """The engine for the per-request identity read.

    On PostgreSQL a separate autocommit pool without pre-ping: the read is then a
    single round trip (no ``SELECT 1`` on checkout, no ``ROLLBACK`` on return);
    the store retries once on a dead connection instead. SQLite shares ``engine``.
    """
    if make_url(url).get_backend_name() == "sqlite":
        return engine
    return _with_deadline(create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800,
                                        isolation_level="AUTOCOMMIT", hide_parameters=True,
                                        pool_timeout=STORE_TIMEOUT_S, connect_args=_pg_timeouts(url)))


# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK_KEY = 0x7072_6566_696C_6C01


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


_REVISION = re.compile(r"""^revision(?:\s*:[^=\n]*)?\s*=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=(.*)$", re.M)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


@lru_cache(maxsize=1)
def _expected_heads() -> frozenset[str]:
    return heads_in(ROOT / "migrations" / "versions")


def heads_in(folder: Path) -> frozenset[str]:
    """The newest revisions, read from the migration files' own lines
    (``revision = "0006"``, ``down_revision = "0005"``, annotated or not):
    importing Alembic to ask would cost every worker ~10 MiB for a check that
    is almost always yes. A file written another way is Alembic's to read
    (tests compare this with Alembic's own answer)."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in folder.glob("*.py"):
        source = path.read_text()
        found, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if found is None or down is None:  # written another way: ask Alembic
            from alembic.script import ScriptDirectory

            return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())
        revisions.add(found.group(1))
        replaced.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - replaced)


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision (``/readyz`` asks this)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    return current == _expected_heads()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision, one process at a time.

    Every gunicorn worker calls this from ``create_app``: on PostgreSQL an
    advisory lock held for the upgrade's transaction, on SQLite a lock on a file
    beside the database, so the first migrates and the others find it done.
    Alembic is imported only when there is something to do (~12 MiB a worker).
    """
    if schema_is_current(engine):
        return
    from alembic import command

    cfg = _alembic_config()
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine), engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
