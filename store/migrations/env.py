"""Alembic environment: runs on the connection the bot hands over (or on DATABASE_URL from the CLI).

`render_as_batch` makes ALTERs work on SQLite, which cannot alter most column properties
in place: Alembic copies the table instead, keeping its rows.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from store.schema import metadata

connection = context.config.attributes.get("connection")


def run(conn) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:  # `alembic -c ... upgrade head` by hand: DATABASE_URL names the database
    engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///data/aiops.sqlite3"))
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
