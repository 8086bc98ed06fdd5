"""Engine construction for SQLite (embedded mode) and PostgreSQL (distributed mode).

SQLite needs care to be safe with several processes (scheduler, CLI, workers) on one file:

* WAL journal, so readers never block the writer and vice versa;
* ``busy_timeout`` so a writer waits for the lock instead of failing at once;
* foreign keys on (SQLite leaves them off per connection);
* write transactions start with ``BEGIN IMMEDIATE``. With the driver's default deferred
  ``BEGIN``, a transaction that reads and then writes takes the write lock only at its
  first write; if another process wrote in between, SQLite cannot wait (the reader's
  snapshot is stale) and fails immediately with "database is locked", ignoring
  ``busy_timeout``. Taking the write lock up front makes such transactions queue instead.
  The driver's own transaction handling is switched off (``isolation_level = None``) and
  SQLAlchemy's ``begin`` event emits the ``BEGIN`` we want — the recipe from the
  SQLAlchemy SQLite documentation. A connection may opt into a plain deferred ``BEGIN``
  with the execution option ``newsmon_readonly=True`` (long exports should not hold the
  write lock).

PostgreSQL uses psycopg 3 and ``pool_pre_ping`` so connections dropped by a server
restart are replaced transparently.

:func:`make_engine` opens one connection before returning, so a wrong URL or a down server
is reported at start-up as a :class:`feeds.errors.StorageError` with a readable line rather
than later as a driver traceback.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from feeds.errors import ConfigError, MissingDatabase, StorageError

BUSY_TIMEOUT_SECONDS = 30
READONLY_OPTION = "newsmon_readonly"


def make_engine(url: str, *, create: bool = True, statement_timeout: float | None = None) -> Engine:
    """An engine for ``sqlite:///PATH`` or ``postgresql://…``, checked by one connection.

    Without ``create`` a SQLite file that does not exist is :class:`MissingDatabase`
    (nothing is created, not even its directory); PostgreSQL never creates databases.
    ``statement_timeout`` (seconds) cancels any one statement that runs longer (the web
    server's bound on what a request may cost); it surfaces as :class:`StorageError`.
    Raises :class:`ConfigError` for an unsupported or malformed URL and
    :class:`StorageError` when the database cannot be reached.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, create=create)
        if statement_timeout is not None:
            _sqlite_statement_timeout(engine, statement_timeout)
    else:
        args = {}
        if statement_timeout is not None:
            # JIT off too: the web's short aggregates never repay its compile time, and a
            # plan the JIT picks for its cost estimate can take seconds (docs/WEB.md).
            timeout_ms = max(1, round(statement_timeout * 1000))
            given = parsed.query.get("options")  # the URL's own options are kept
            given = " ".join(given) if isinstance(given, tuple) else given
            ours = f"-c statement_timeout={timeout_ms} -c jit=off"
            args["options"] = f"{given} {ours}" if given else ours
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=args)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise StorageError(connection_failure(engine, exc)) from exc
    return engine


def safe_url(engine_or_url: Engine | URL) -> str:
    """The URL with the password masked, fit for messages and logs."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return url.render_as_string(hide_password=True)


def connection_failure(engine: Engine, exc: BaseException, doing: str = "use") -> str:
    """A one-line message for a database failure, saying what to check.

    ``doing`` completes "cannot … the database", e.g. ``"migrate"``.
    """
    reason = _first_line(exc)
    where = safe_url(engine)
    if engine.dialect.name == "sqlite":
        if "locked" in reason or "busy" in reason:
            hint = "another process kept it locked; check for a stuck newsmon process"
        else:
            hint = "check that the path is right and its directory is writable"
    elif f'database "{engine.url.database}" does not exist' in reason:
        # newsmon never creates a PostgreSQL database: a typo in its name ends here too
        hint = (
            "check NEWSMON_DATABASE_URL (or database_url in the settings file), or create it "
            f"(`createdb {engine.url.database}` as a PostgreSQL superuser) and run `newsmon init`"
        )
    elif isinstance(exc, OperationalError):
        hint = "check that the server is running and the host, port, database, user and password"
    else:
        hint = "check that every newsmon process runs the same version and the schema is migrated"
    return f"cannot {doing} the database at {where}: {reason}; {hint}"


def _first_line(exc: BaseException) -> str:
    # DBAPIError's str() includes the SQL and a documentation link; the driver's own
    # message (``orig``) is the part a person can act on.
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"malformed database URL {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise ConfigError(
                f"unsupported SQLite driver {parsed.drivername!r}; use sqlite:///PATH"
            )
        return parsed
    if backend in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; plain postgresql:// would mean psycopg2.
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}; "
        "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB"
    )


def _sqlite_path(url: URL) -> Path | None:
    """The file of an SQLite URL; None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser()


def new_sqlite_paths(url: str) -> list[Path]:
    """What opening ``url`` with ``create`` would make: for an SQLite file that is not there
    yet, the file and the directories missing above it, deepest first; [] for an existing
    file, an in-memory database or PostgreSQL (whose databases are never created).

    Raises :class:`ConfigError` for a URL :func:`make_engine` would refuse."""
    parsed = _parse(url)
    path = _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is None or path.exists():
        return []
    made = [path]
    while not made[-1].parent.exists():
        made.append(made[-1].parent)
    return made


def remove_new_sqlite(made: list[Path]) -> None:
    """Undo creating an SQLite database (``made`` from :func:`new_sqlite_paths`, its
    engine disposed): the file with its journals, then each directory made for it that is
    still empty."""
    if not made:
        return
    database = made[0]
    for suffix in ("", "-wal", "-shm", "-journal"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    for directory in made[1:]:
        try:
            directory.rmdir()
        except OSError:
            return  # not empty: something else lives there now


def _sqlite_engine(url: URL, *, create: bool) -> Engine:
    path = _sqlite_path(url)
    if path is not None:
        if not create:
            _check_existing(path, url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory {path.parent} for the SQLite database: "
                f"{exc.strerror}; check the path and its permissions"
            ) from exc
        url = url.set(database=str(path))
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_statement_timeout(engine: Engine, seconds: float) -> None:
    """SQLite has no statement timeout: a progress handler, called every few thousand
    virtual-machine steps, interrupts a statement past the deadline set when it began."""

    @event.listens_for(engine, "connect")
    def _watch(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        deadline = [math.inf]
        record.info["newsmon_deadline"] = deadline
        dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline[0], 20_000)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Connection, *_: Any) -> None:
        deadline = conn.connection.info.get("newsmon_deadline")
        if deadline is not None:
            deadline[0] = time.monotonic() + seconds

    @event.listens_for(engine, "after_cursor_execute")
    def _done(conn: Connection, *_: Any) -> None:
        # Off between statements, so a COMMIT or the pool's ROLLBACK is never interrupted.
        deadline = conn.connection.info.get("newsmon_deadline")
        if deadline is not None:
            deadline[0] = math.inf


def _check_existing(path: Path, url: URL) -> None:
    """Raise unless ``path`` is an SQLite file that newsmon has migrated.

    Read through a read-only connection: our engine's first connection switches the file
    to WAL, which would write a header into an empty file or change another program's
    database."""
    if not path.is_file():
        raise MissingDatabase(f"no database file at {path} ({safe_url(url)})")
    if path.stat().st_size == 0:
        raise MissingDatabase(f"{path} is an empty file, not a newsmon database")
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = probe.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot read {path} as an SQLite database: {exc}") from exc
    if found is None:
        raise MissingDatabase(f"the database at {safe_url(url)} holds no newsmon data")


def _sqlite_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Stop the driver from issuing its own (deferred) BEGIN; _sqlite_on_begin does it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable across application crashes in WAL mode and much faster.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL once; it stays so. The switch needs an exclusive lock, and
    SQLite may refuse it at once (no busy wait) while other processes open the same new
    file, so a refusal is retried for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode and str(mode[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
