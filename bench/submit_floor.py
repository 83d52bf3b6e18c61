"""The database's own share of a submit on SQLite: what Prefill writes per
submission (the row with its indexes, and its idempotency key) against the
hand-written app's one row, on the driver's cursor, WAL + synchronous=NORMAL
as both apps run. No web stack: what is left of the gap in the gunicorn bench's
SQLite submit is this, or Python around it.

    .venv/bin/python bench/submit_floor.py [--n 5000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from store import rawsql  # noqa: E402
from store.db import make_engine, migrate  # noqa: E402
from store.submissions import ordered_id  # noqa: E402
from store.tables import idempotency_keys, submissions  # noqa: E402

VALUES = {"email": "u0@example.com", "name": "User", "company": "Acme", "subject": "S1", "priority": "normal",
          "message": "Hello"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/floor.sqlite3")
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_submissions (id VARCHAR(40) PRIMARY KEY, email TEXT, name TEXT, "
                              "company TEXT, subject TEXT, priority TEXT, message TEXT)"))
        sub = rawsql.insert_sql(submissions, "s_", engine.dialect)
        key = rawsql.insert_sql(idempotency_keys, "k_", engine.dialect)
        values = json.dumps(VALUES)
        raw = engine.raw_connection()
        cursor = raw.cursor()

        def hand_written() -> None:
            cursor.execute("INSERT INTO bench_submissions VALUES (?, ?, ?, ?, ?, ?, ?)",
                           ("sub_" + secrets.token_hex(12), *VALUES.values()))
            raw.commit()

        def prefill(keyed: bool) -> None:
            now = int(time.time() * 1000)
            sid = ordered_id("sub_", now)  # as Prefill makes them
            p = {"s_id": sid, "s_form": "support_ticket", "s_args": "{}", "s_values": values, "s_user_id": "u1",
                 "s_owner_id": "u1", "s_visitor_id": "v_1", "s_verified": True, "s_session_metadata": "{}",
                 "s_prefilled": '["email"]', "s_changed": "[]", "s_sources": '{"email":"trusted"}', "s_schema": None,
                 "s_created_at": now, "k_visitor_id": "v_1", "k_key": secrets.token_hex(32),
                 "k_request_hash": secrets.token_hex(32), "k_status": 201, "k_response": values,
                 "k_submission_id": sid, "k_created_at": now}
            cursor.execute(sub[0], tuple(p[n] for n in sub[1]))
            if keyed:
                cursor.execute(key[0], tuple(p[n] for n in key[1]))
            raw.commit()

        print(f"SQLite, {args.n} commits each, µs per submission:")
        for name, call in (("hand-written: one row, one index", hand_written),
                           ("Prefill: the submission row and its indexes", lambda: prefill(False)),
                           ("Prefill: the row and its idempotency key", lambda: prefill(True))):
            start = time.perf_counter()
            for _ in range(args.n):
                call()
            print(f"  {name:<45} {(time.perf_counter() - start) / args.n * 1e6:6.0f}")
        raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
