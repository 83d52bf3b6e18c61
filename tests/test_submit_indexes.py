"""A submit writes only the index entries its readers need (issue 19,
migration 0006): each history index holds the rows its query can return, and
every reader still finds its rows through an index."""

from __future__ import annotations

import tempfile

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text

from forms.identity import Identity
from forms.sensitive import SensitiveKeys
from store.db import _alembic_config, make_engine, migrate
from store.submissions import SubmissionStore, T
from store.tables import submissions_of_user
from tests.conftest import wipe


def _plan(engine, query) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return " | ".join(r[-1] for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        conn.execute(text("SET enable_seqscan = off"))  # an empty table: the planner would scan
        return " | ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))


@pytest.fixture
def store(db_url):
    wipe(db_url)
    engine = make_engine(db_url)
    yield SubmissionStore(engine, SensitiveKeys([], []))
    engine.dispose()


def test_every_reader_of_submissions_uses_an_index(store):
    """SQLite: the index meant for each; PostgreSQL (an empty table, scans made
    dear): some index, never a scan of the table."""
    engine = store.engine

    def uses(query, *names: str) -> None:
        plan = _plan(engine, query)
        if engine.dialect.name == "sqlite":
            assert all(n in plan for n in names), plan
        else:
            assert "Seq Scan" not in plan and "Index" in plan, plan

    uses(store._visible(Identity(user_id="u1", verified=True), "v1"), "ix_submissions_owner_created")
    uses(store._visible(Identity(), "v1"), "ix_submissions_visitor_created")
    uses(store._visible(Identity(user_id="u1"), "v1"), "ix_submissions_visitor_created")
    # erasure and the admin filter by user: one index for each branch
    uses(select(T.c.id).where(submissions_of_user("u1")), "ix_submissions_owner_created", "ix_submissions_user")
    uses(store.admin_query(None, None, None).order_by(T.c.created_at.desc()).limit(50), "ix_submissions_created")


def _indexes(engine) -> dict[str, list[str]]:
    found = {}
    for table in ("submissions", "idempotency_keys"):
        for ix in inspect(engine).get_indexes(table):
            found[ix["name"]] = ix["column_names"]
    return found


def test_the_partial_indexes_hold_only_their_readers_rows(db_url, store):
    """Counted through each index: an owned row is only in the owner's, an
    unowned one in the visitor's, a claimed unowned one in the user's too."""
    rows = [("sub_owned", "u1", "u1", "v1"), ("sub_claimed", "u2", None, "v2"), ("sub_anon", None, None, "v3")]
    with store.engine.begin() as conn:
        for sid, user, owner, visitor in rows:
            conn.execute(T.insert().values(id=sid, form="f", args="{}", values="{}", user_id=user, owner_id=owner,
                                           visitor_id=visitor, verified=owner is not None, session_metadata="{}",
                                           prefilled="[]", changed="[]", sources="{}", created_at=1))
    if db_url.startswith("sqlite"):
        with store.engine.connect() as conn:
            def count(index: str, where: str) -> int:
                return conn.execute(text(f"SELECT count(*) FROM submissions INDEXED BY {index} WHERE {where}")).scalar()

            assert count("ix_submissions_owner_created", "owner_id IS NOT NULL") == 1
            assert count("ix_submissions_visitor_created", "owner_id IS NULL") == 2
            assert count("ix_submissions_user", "owner_id IS NULL AND user_id IS NOT NULL") == 1
    # and every reader still finds what is its own
    assert [i["id"] for i in store.history(Identity(user_id="u1", verified=True), "v9", 10, None)[0]] == ["sub_owned"]
    assert [i["id"] for i in store.history(Identity(user_id="u2"), "v2", 10, None)[0]] == ["sub_claimed"]
    assert [i["id"] for i in store.history(Identity(), "v3", 10, None)[0]] == ["sub_anon"]
    assert [i["id"] for i in store.admin_list(None, "u2", None, 10, None)[0]] == ["sub_claimed"]
    assert [i["id"] for i in store.admin_list(None, "u1", None, 10, None)[0]] == ["sub_owned"]
    store.erase_user("u2")
    store.erase_user("u1")
    assert [i["id"] for i in store.admin_list(None, None, None, 10, None)[0]] == ["sub_anon"]


def test_the_migration_goes_down_and_up_again():
    url = f"sqlite:///{tempfile.mkdtemp()}/m.sqlite3"
    engine = make_engine(url)
    migrate(engine)
    assert "ix_idempotency_keys_submission_id" not in _indexes(engine)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert _indexes(engine)["ix_idempotency_keys_submission_id"] == ["submission_id"]
    migrate(engine)
    found = _indexes(engine)
    assert "ix_idempotency_keys_submission_id" not in found
    assert found["ix_submissions_user"] == ["user_id"]
    with create_engine(url).connect() as conn:
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_submissions_user'")).scalar()
    assert "WHERE owner_id IS NULL AND user_id IS NOT NULL" in sql
    engine.dispose()
