"""Bring a database's schema to the newest revision, safely from several processes.

Several processes may start at once (the scheduler, workers, a CLI command) and each
calls :func:`upgrade`. The whole upgrade runs in one transaction that first takes a lock
shared by all of them, so exactly one process migrates and the others then find the
schema at head and do nothing:

* PostgreSQL: ``pg_advisory_xact_lock`` with a fixed key, released at commit;
* SQLite: the engine from :func:`storage.db.make_engine` starts every write transaction
  with ``BEGIN IMMEDIATE``, which already serialises writers across processes.

No ``alembic.ini`` is needed: the config is built here and the connection is passed to the
environment script through ``config.attributes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from feeds.errors import MissingDatabase, StorageError
from storage.db import READONLY_OPTION, connection_failure, safe_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant works as long as every process uses the same one; this is "newsmon" in ASCII.
_ADVISORY_LOCK_KEY = 0x6E6577736D6F6E

# The newest revision in migrations/, written out so that a process starting on a database
# that is already there (every CLI command, every worker) can skip importing Alembic, about
# 0.15 s of a command's start-up. tests/test_storage.py checks it against the scripts.
HEAD_REVISION = "9_series_index"


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, *, create: bool = True) -> None:
    """Migrate to head; a no-op when already there. Raises :class:`StorageError`.

    Without ``create`` a database that was never migrated (an empty PostgreSQL database,
    an empty SQLite file) is :class:`MissingDatabase` and is left as it is; one at an
    older revision is still brought to head, as its data are kept."""
    if _at_head(engine):
        return
    if not create and current_revision(engine) is None:
        raise MissingDatabase(f"the database at {safe_url(engine)} holds no newsmon data")
    from alembic import command

    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
            command.upgrade(alembic_config(conn), "head")
    except DBAPIError as exc:
        raise StorageError(connection_failure(engine, exc, "migrate")) from exc


def _at_head(engine: Engine) -> bool:
    """True when the database is known to be at :data:`HEAD_REVISION`, read without Alembic.
    A database that cannot be reached raises :class:`StorageError` at once; a failed read
    (no version table yet) answers False and the full path decides."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise StorageError(connection_failure(engine, exc, "migrate")) from exc
    with conn:
        conn.execution_options(**{READONLY_OPTION: True})
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:
            return False
    return [r[0] for r in rows] == [HEAD_REVISION]


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            conn.execution_options(**{READONLY_OPTION: True})
            return MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise StorageError(connection_failure(engine, exc)) from exc


def head_revision() -> str | None:
    """The newest revision shipped with this code (from the scripts themselves)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
