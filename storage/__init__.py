"""The SQL adapter for the core's storage ports (SQLite or PostgreSQL).

This is the only package that imports SQLModel/SQLAlchemy; callers get the frozen
dataclasses of :mod:`feeds.models` and the errors of :mod:`feeds.errors`. Typical wiring::

    engine = make_engine(url)   # storage.db
    upgrade(engine)             # storage.migrate, safe from concurrent start-ups
    store = SqlStore(engine)    # storage.repository, a feeds.ports.Store
"""
