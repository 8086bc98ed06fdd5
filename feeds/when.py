"""Reading a moment a person typed: the one rule for ``--since`` and the API's ``since``."""

from __future__ import annotations

from datetime import UTC, datetime

from feeds.errors import InvalidInput

__all__ = ["parse_instant"]


def parse_instant(value: str | None, what: str = "--since") -> datetime | None:
    """An ISO date or time, UTC unless it names its offset; None stays None.

    :class:`InvalidInput` names ``what`` (the option or parameter) for anything else,
    including a date that overflows the calendar once moved to UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{what} {value!r} is not an ISO date such as 2026-11-27") from None
