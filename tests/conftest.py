"""Fixtures shared by the whole test suite.

Keep this file to fixtures that more than one test module needs, grouped by the part of
the system they provide, each with a docstring. Module-specific helpers belong in the
test module itself.

Storage
    ``sqlite_url``   a ``sqlite:///`` URL for a file in the test's ``tmp_path``.
    ``pg_url``       a ``postgresql://`` URL of a database created for this test session
                     (dropped at the end), on the server named by
                     ``NEWSMON_TEST_POSTGRES_URL``.
    ``pg_engine``    a migrated engine on ``pg_url``, shared by the session.
    ``store``        a migrated, empty :class:`storage.repository.SqlStore`, once on SQLite
                     and once on PostgreSQL (that run is marked ``postgres``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import SqlStore
from storage.tables import metadata

# The suite's pipeline, CLI and worker tests exercise plumbing, not reading quality, so
# they run the fast target-sentiment model; tests/test_target_model.py loads each model
# explicitly, the default ("cascade") included, and holds the quality bars.
os.environ.setdefault("NEWSMON_TARGET_MODEL", "fast")

# Fixtures that live in their own modules: loopback SMTP and feed servers, the CLI env.
pytest_plugins = ["tests.smtpserver", "tests.feedserver", "tests.cli_support", "tests.services"]

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("NEWSMON_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)

# --------------------------------------------------------------------------- storage


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL in a fresh directory (the file does not exist yet)."""
    return f"sqlite:///{tmp_path / 'db' / 'newsmon.db'}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this session; dropped afterwards.

    A separate database (not a schema in the shared one) keeps concurrent test sessions
    and developers' data apart, and dropping it is the whole clean-up.
    """
    server = make_url(POSTGRES_URL)
    name = f"newsmon_test_{secrets.token_hex(6)}"
    # CREATE/DROP DATABASE cannot run inside a transaction: use an autocommit connection.
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An engine on ``pg_url``, migrated to head once for the session."""
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[SqlStore]:
    """A migrated store with no rows, on each supported database."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url)
        upgrade(engine)
        yield SqlStore(engine)
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        _empty_postgres(engine)
        yield SqlStore(engine)
        # and after: later tests on the same session database (Celery) expect it empty
        _empty_postgres(engine)


@pytest.fixture
def empty_pg_url(pg_engine: Engine, pg_url: str) -> str:
    """The session's PostgreSQL URL, migrated and with every table emptied (for drivers)."""
    _empty_postgres(pg_engine)
    return pg_url
