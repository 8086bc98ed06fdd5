"""Alembic environment, driven from code.

:func:`storage.migrate.upgrade` builds the Alembic ``Config`` in memory and hands over an
open connection, already inside a transaction, as ``config.attributes["connection"]``.
Running inside the caller's transaction is what makes concurrent start-ups safe: the caller
holds the PostgreSQL advisory lock (or SQLite's write lock) for the whole upgrade, and
Alembic does not commit on its own when the transaction is external.

For a developer's ``alembic`` command line, ``sqlalchemy.url`` in the config is used
instead (through :func:`storage.db.make_engine`, so the same SQLite settings apply).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import make_engine
from storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
