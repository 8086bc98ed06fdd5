"""Digest period arithmetic, including daylight-saving transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feeds.digest.periods import current_period, parse_hhmm
from feeds.errors import InvalidInput
from feeds.models import SubscriptionSpec

LONDON = ZoneInfo("Europe/London")


def spec(**kw: object) -> SubscriptionSpec:
    base: dict[str, object] = {"name": "s", "emails": ("a@example.org",)}
    base.update(kw)
    return SubscriptionSpec(**base)  # type: ignore[arg-type]


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def test_daily_example_from_the_brief() -> None:
    # 2026-03-30 is after the spring-forward change (29 March), so London is on BST.
    s = spec(schedule="daily", at="08:00", tz="Europe/London")
    period = current_period(s, local(LONDON, 2026, 3, 30, 9, 0))
    assert period.key == "daily:2026-03-30"
    assert period.start == local(LONDON, 2026, 3, 29, 8, 0)
    assert period.end == local(LONDON, 2026, 3, 30, 8, 0)
    assert period.end == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert period.start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_daily_spring_forward_day_is_23_hours() -> None:
    s = spec(schedule="daily", at="08:00", tz="Europe/London")
    period = current_period(s, datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert period.key == "daily:2026-03-29"
    assert period.start == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # GMT
    assert period.end == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # BST
    assert period.end - period.start == timedelta(hours=23)


def test_daily_autumn_back_day_is_25_hours() -> None:
    s = spec(schedule="daily", at="08:00", tz="Europe/London")
    period = current_period(s, datetime(2026, 10, 25, 8, 0, tzinfo=UTC))
    assert period.key == "daily:2026-10-25"
    assert period.end - period.start == timedelta(hours=25)


def test_daily_boundary_is_inclusive_and_before_is_previous_day() -> None:
    s = spec(schedule="daily", at="08:00", tz="Europe/London")
    at_boundary = current_period(s, local(LONDON, 2026, 3, 30, 8, 0))
    just_before = current_period(s, local(LONDON, 2026, 3, 30, 7, 59))
    assert at_boundary.key == "daily:2026-03-30"
    assert just_before.key == "daily:2026-03-29"
    assert just_before.end == at_boundary.start


def test_daily_in_a_zone_ahead_of_utc_uses_local_date() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    s = spec(schedule="daily", at="07:30", tz="Asia/Tokyo")
    # 23:00 UTC on the 9th is 08:00 on the 10th in Tokyo.
    period = current_period(s, datetime(2026, 6, 9, 23, 0, tzinfo=UTC))
    assert period.key == "daily:2026-06-10"
    assert period.end == local(tokyo, 2026, 6, 10, 7, 30)


def test_daily_nonexistent_local_time_is_deterministic() -> None:
    # 01:30 does not exist in London on 29 March 2026; it resolves with the GMT offset.
    s = spec(schedule="daily", at="01:30", tz="Europe/London")
    now = datetime(2026, 3, 29, 3, 0, tzinfo=UTC)
    first, second = current_period(s, now), current_period(s, now)
    assert first == second
    assert first.key == "daily:2026-03-29"
    assert first.end == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_weekly_last_completed_week() -> None:
    s = spec(schedule="weekly", at="08:00", tz="Europe/London", weekday=0)
    # Wednesday 1 April 2026: the last Monday 08:00 was 30 March (ISO week 14).
    period = current_period(s, datetime(2026, 4, 1, 12, 0, tzinfo=UTC))
    assert period.key == "weekly:2026-W14"
    assert period.end == local(LONDON, 2026, 3, 30, 8, 0)
    assert period.start == local(LONDON, 2026, 3, 23, 8, 0)
    # The week spans the spring-forward change.
    assert period.end - period.start == timedelta(days=7) - timedelta(hours=1)


def test_weekly_same_day_before_time_goes_back_a_week() -> None:
    s = spec(schedule="weekly", at="08:00", tz="UTC", weekday=4)
    period = current_period(s, datetime(2026, 11, 27, 7, 59, tzinfo=UTC))  # a Friday
    assert period.end == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert period.key == "weekly:2026-W47"


def test_immediate_five_minute_buckets() -> None:
    s = spec(schedule="immediate", tz="America/New_York")
    period = current_period(s, datetime(2026, 3, 30, 8, 7, 42, tzinfo=UTC))
    assert period.start == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 30, 8, 5, tzinfo=UTC)
    assert period.key == "immediate:2026-03-30T08:05Z"


def test_non_utc_now_is_accepted() -> None:
    s = spec(schedule="daily", at="08:00", tz="UTC")
    plus2 = timezone(timedelta(hours=2))
    a = current_period(s, datetime(2026, 5, 1, 11, 0, tzinfo=plus2))
    b = current_period(s, datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    assert a == b
    assert a.start.tzinfo == UTC


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "Europe/Londn", "../etc/passwd", ""])
def test_unknown_zone_is_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        current_period(spec(tz=bad), datetime(2026, 1, 1, tzinfo=UTC))


def test_naive_now_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        current_period(spec(), datetime(2026, 1, 1))


def test_bad_weekday_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="weekday"):
        current_period(spec(schedule="weekly", weekday=7), datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("08:00", "08:00"), ("8:05", "08:05"), (" 23:59 ", "23:59"), ("00:00", "00:00")],
)
def test_parse_hhmm_accepts(raw: str, expected: str) -> None:
    assert parse_hhmm(raw) == expected


@pytest.mark.parametrize("raw", ["24:00", "12:60", "1200", "12:5", "noon", "", "12:00:00"])
def test_parse_hhmm_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput, match="HH:MM"):
        parse_hhmm(raw)
