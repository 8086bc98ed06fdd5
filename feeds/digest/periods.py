"""Digest periods: which window of time a subscription's next digest covers.

A digest covers the most recent *completed* period at ``now``. Periods are computed on the
subscription's local wall clock and only then converted to UTC, so "daily at 08:00 in
Europe/London" stays at 08:00 local across daylight-saving changes; the period that contains
a DST change is simply 23 or 25 hours long.

Design decisions:

* Wall-clock arithmetic is done on naive local datetimes and converted with ``zoneinfo`` at
  the end. Aware datetimes that share a ``tzinfo`` compare by wall time in Python (the offset
  is ignored), so every comparison here is made in UTC to stay correct around transitions.
* A local time that does not exist (skipped by a spring-forward change) resolves with
  ``fold=0``, i.e. with the offset in force before the change; a repeated local time (autumn)
  resolves to its first occurrence. Both are deterministic, which is what the period key needs.
* The period key names the *end* of the period in local terms (the day or ISO week the digest
  is due in; for ``immediate`` the UTC end instant). It is stable for a given subscription and
  instant, so storage can use it to send each digest at most once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.errors import InvalidInput
from feeds.models import Period, SubscriptionSpec

__all__ = ["IMMEDIATE_BUCKET", "current_period", "parse_hhmm", "recent_periods", "zone"]

#: The width of an ``immediate`` subscription's bucket.
IMMEDIATE_BUCKET = timedelta(minutes=5)

_HHMM = re.compile(r"(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)")


def parse_hhmm(s: str) -> str:
    """Validate a local time of day written ``HH:MM`` (24-hour) and return it zero-padded.

    ``"8:05"`` becomes ``"08:05"``; anything else that is not a real time raises
    :class:`InvalidInput`.
    """
    match = _HHMM.fullmatch(s.strip())
    if match is None:
        raise InvalidInput(f"not a time of day: {s!r} (expected HH:MM, 24-hour, e.g. 08:00)")
    return f"{int(match['h']):02d}:{match['m']}"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or :class:`InvalidInput` naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # ValueError covers malformed keys such as absolute paths or "../x".
        raise InvalidInput(
            f"unknown time zone: {name!r} (use an IANA name such as Europe/London)"
        ) from exc


def current_period(spec: SubscriptionSpec, now: datetime) -> Period:
    """The most recent completed digest period at ``now`` for ``spec``'s schedule."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("now must be a timezone-aware datetime")
    now_utc = now.astimezone(UTC)
    tz = zone(spec.tz)
    if spec.schedule == "immediate":
        return _immediate(now_utc)
    at = _as_time(parse_hhmm(spec.at))
    if spec.schedule == "daily":
        return _daily(now_utc, tz, at)
    if spec.schedule == "weekly":
        if not 0 <= spec.weekday <= 6:
            raise InvalidInput(f"weekday must be 0 (Monday) to 6 (Sunday), not {spec.weekday}")
        return _weekly(now_utc, tz, at, spec.weekday)
    raise InvalidInput(f"unknown schedule: {spec.schedule!r} (immediate, daily or weekly)")


def recent_periods(
    spec: SubscriptionSpec, now: datetime, *, catch_up: timedelta, since: datetime | None = None
) -> list[Period]:
    """The completed periods worth sending at ``now``, oldest first.

    Daily and weekly: only the latest (a digest from last week is stale). Immediate: every
    bucket that ended within ``catch_up`` (a sender that was down for a few minutes still
    sends each bucket), none that ended before ``since`` (the subscription's creation).
    """
    latest = current_period(spec, now)
    if spec.schedule != "immediate":
        return [latest] if since is None or latest.end > since else []
    periods = []
    end = latest.end
    while now - end <= catch_up and (since is None or end > since):
        periods.append(_immediate(end))
        end -= IMMEDIATE_BUCKET
    return list(reversed(periods))


# --------------------------------------------------------------------------- internals


def _as_time(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def _to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _immediate(now_utc: datetime) -> Period:
    seconds = int(IMMEDIATE_BUCKET.total_seconds())
    epoch = int(now_utc.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)
    return Period(key=f"immediate:{end:%Y-%m-%dT%H:%MZ}", start=end - IMMEDIATE_BUCKET, end=end)


def _daily(now_utc: datetime, tz: ZoneInfo, at: time) -> Period:
    day = now_utc.astimezone(tz).date()
    # The local date of "now" may still be before today's HH:MM; then the latest boundary
    # was yesterday. Comparing in UTC keeps this right on transition days.
    if _to_utc(day, at, tz) > now_utc:
        day -= timedelta(days=1)
    return Period(
        key=f"daily:{day.isoformat()}",
        start=_to_utc(day - timedelta(days=1), at, tz),
        end=_to_utc(day, at, tz),
    )


def _weekly(now_utc: datetime, tz: ZoneInfo, at: time, weekday: int) -> Period:
    today = now_utc.astimezone(tz).date()
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    if _to_utc(day, at, tz) > now_utc:
        day -= timedelta(days=7)
    year, week, _ = day.isocalendar()
    return Period(
        key=f"weekly:{year}-W{week:02d}",
        start=_to_utc(day - timedelta(days=7), at, tz),
        end=_to_utc(day, at, tz),
    )
