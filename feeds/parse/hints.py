"""Scheduling hints that travel with a parsed feed: RSS ``<ttl>`` and ``<skipHours>``."""

from __future__ import annotations

import re

_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>", re.IGNORECASE)
_SKIP_HOURS = re.compile(rb"<skipHours>(.{0,2000}?)</skipHours>", re.IGNORECASE | re.DOTALL)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.IGNORECASE)


def ttl_minutes(content: bytes) -> int | None:
    match = _TTL.search(content)
    return int(match.group(1)) if match else None


def skip_hours(content: bytes) -> tuple[int, ...]:
    match = _SKIP_HOURS.search(content)
    if not match:
        return ()
    hours = {int(h) % 24 for h in _HOUR.findall(match.group(1)) if int(h) <= 24}
    return tuple(sorted(hours))
