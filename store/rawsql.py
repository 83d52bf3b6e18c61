"""Statements run on a pooled DBAPI connection: the submit's hot path.

SQLAlchemy Core's work per execute (a connection wrapper, an execution context,
result handling) was about a fifth of a JSON submit. These statements are
compiled once per dialect to the driver's own SQL and run on plain cursors;
a driver error is raised as SQLAlchemy's own (``IntegrityError``,
``OperationalError``...), so callers and error handlers see what Core raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Compiled = tuple[str, tuple[str, ...] | None]  # SQL, and the parameter names in order for positional styles


def insert_sql(table: Table, prefix: str, dialect: Dialect) -> Compiled:
    """``INSERT`` of every column of ``table``, its parameters named ``prefix + column``."""
    stmt = insert(table).values({c.name: bindparam(prefix + c.name) for c in table.c})
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup) if compiled.positional else None


def run(engine: Engine, statements: Sequence[Compiled], params: Mapping[str, Any]) -> None:
    """``statements`` in one transaction (one statement alone on an autocommit
    engine: atomic by itself), committed before this returns."""
    dbapi = engine.dialect.loaded_dbapi
    raw = engine.raw_connection()
    sql = statements[0][0]
    try:
        cursor = raw.cursor()
        for sql, order in statements:
            cursor.execute(sql, tuple(params[n] for n in order) if order is not None else params)
        cursor.close()
        raw.commit()
    except dbapi.Error as exc:
        if isinstance(exc, dbapi.OperationalError | dbapi.InterfaceError):
            if engine.dialect.is_disconnect(exc, raw.dbapi_connection, None):
                engine.dispose()  # as Core does on a disconnect: the pooled connections are likely dead too
            raw.invalidate()  # not back into the pool
        else:
            try:
                raw.rollback()
            except dbapi.Error:
                raw.invalidate()
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, hide_parameters=True,
                                  dialect=engine.dialect) from None
    finally:
        raw.close()
