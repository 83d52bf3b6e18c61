"""Alembic environment: run with the connection Prefill hands over, or a URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from store.tables import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = os.environ.get("DATABASE_URL", "sqlite:///instance/prefill.sqlite3")
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()
