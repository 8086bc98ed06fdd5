"""Column types shared by the tables and the migrations.

SQLite has no time-zone-aware timestamp: SQLAlchemy stores a naive ISO string there. The
project passes only aware UTC datetimes around, so :class:`UTCDateTime` converts at the
boundary: aware UTC in, naive UTC stored on SQLite (``TIMESTAMPTZ`` on PostgreSQL), aware
UTC out. Naive values are refused on the way in rather than guessed at, because a silent
local-time interpretation would shift every schedule by the server's offset.

The stored SQLite format always carries microseconds, so string comparison in ``WHERE``
clauses orders the same way as the datetimes do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use aware UTC")
        utc = value.astimezone(UTC)
        # SQLite's DATETIME is a plain string without an offset: keep it naive UTC.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"database returned {type(value).__name__} for a timestamp")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def dump_strings(values: Iterable[str]) -> str:
    """A list of strings as the JSON text stored in ``*_json`` style columns."""
    return json.dumps(list(values), ensure_ascii=False)


def load_strings(text: str | None) -> tuple[str, ...]:
    """The inverse of :func:`dump_strings`; tolerates NULL and empty text."""
    if not text:
        return ()
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of strings")
    return tuple(str(item) for item in data)
