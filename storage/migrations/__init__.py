"""Alembic migrations for the project's schema (run through :mod:`storage.migrate`)."""
