"""The scheduling decider: data in, data out (no I/O, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.errors import (
    BlockedAddress,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    RedirectLoop,
    UnsafeDocument,
)
from feeds.fetch.http import parse_max_age, parse_retry_after
from feeds.fetch.policy import PollObservation, PollPolicy, classify_failure, decide
from feeds.models import FeedSource

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
POLICY = PollPolicy()
MIN = 60


def src(**kw: object) -> FeedSource:
    return FeedSource(id=1, url="https://a.example/feed", **kw)  # type: ignore[arg-type]


def ok(entries: int = 10, new: int = 0, **kw: object) -> PollObservation:
    return PollObservation(kind="ok", http_status=200, entries=entries, new_entries=new, **kw)  # type: ignore[arg-type]


def failed(failure: str = "soft", status: int | None = 500, **kw: object) -> PollObservation:
    return PollObservation(kind="failed", http_status=status, failure=failure, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- success


def test_new_entries_shrink_the_interval_by_their_share() -> None:
    all_new = decide(src(), ok(10, 10), NOW, POLICY)
    assert all_new.interval_seconds == 15 * MIN  # 30 min halved
    quarter = decide(src(interval_seconds=3600), ok(8, 2), NOW, POLICY)
    assert quarter.interval_seconds == 48 * MIN  # 60 / 1.25
    assert all_new.next_fetch_at == NOW + timedelta(minutes=15)
    assert all_new.health == "ok" and all_new.failure_score == 0


def test_nothing_new_grows_the_interval() -> None:
    assert decide(src(interval_seconds=3600), ok(10, 0), NOW, POLICY).interval_seconds == 4500
    not_modified = PollObservation(kind="not_modified", http_status=304)
    assert decide(src(interval_seconds=3600), not_modified, NOW, POLICY).interval_seconds == 4500


def test_interval_is_clamped() -> None:
    assert decide(src(interval_seconds=700), ok(1, 1), NOW, POLICY).interval_seconds == 600
    assert decide(src(interval_seconds=86000), ok(1, 0), NOW, POLICY).interval_seconds == 86400


def test_converges_to_the_bounds() -> None:
    busy, quiet = src(), src()
    for _ in range(10):
        d = decide(busy, ok(10, 10), NOW, POLICY)
        busy = src(interval_seconds=d.interval_seconds)
        q = decide(quiet, ok(10, 0), NOW, POLICY)
        quiet = src(interval_seconds=q.interval_seconds)
    assert busy.interval_seconds == 600
    assert quiet.interval_seconds is not None and quiet.interval_seconds > 4 * 3600
    for _ in range(10):
        q = decide(quiet, ok(10, 0), NOW, POLICY)
        quiet = src(interval_seconds=q.interval_seconds)
    assert quiet.interval_seconds == 86400


def test_server_hints_are_capped_lower_bounds() -> None:
    cached = decide(src(), ok(10, 10, max_age=7200.0), NOW, POLICY)
    assert cached.next_fetch_at == NOW + timedelta(hours=2)
    assert cached.interval_seconds == 15 * MIN  # the adaptive interval is kept
    ttl = decide(src(), ok(10, 10, ttl_minutes=60), NOW, POLICY)
    assert ttl.next_fetch_at == NOW + timedelta(hours=1)
    huge = decide(src(), ok(10, 10, max_age=10 * 365 * 86400.0), NOW, POLICY)
    assert huge.next_fetch_at == NOW + timedelta(hours=24)
    short = decide(src(), ok(10, 10, max_age=60.0), NOW, POLICY)
    assert short.next_fetch_at == NOW + timedelta(minutes=15)  # a hint never shortens


def test_skip_hours_move_the_next_fetch() -> None:
    # 07:00 + 15 min = 07:15, hours 7 and 8 skipped -> 09:00.
    d = decide(src(), ok(10, 10, skip_hours=(7, 8)), NOW, POLICY)
    assert d.next_fetch_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    every = decide(src(), ok(10, 10, skip_hours=tuple(range(24))), NOW, POLICY)
    assert every.next_fetch_at == NOW + timedelta(minutes=15)  # all skipped: ignored


def test_success_halves_the_failure_score() -> None:
    assert decide(src(failure_score=4.0), ok(), NOW, POLICY).failure_score == 2.0
    flaky = decide(src(failure_score=1.0), ok(), NOW, POLICY)
    assert (flaky.failure_score, flaky.health) == (0.5, "flaky")
    healed = decide(src(failure_score=0.4), ok(), NOW, POLICY)
    assert (healed.failure_score, healed.health) == (0.0, "ok")


# --------------------------------------------------------------------------- failure


def test_failures_back_off_linearly_to_a_cap() -> None:
    waits = []
    for n in range(60):
        d = decide(src(error_count=n, interval_seconds=900), failed(), NOW, POLICY)
        waits.append(d.next_fetch_at - NOW)
        assert d.health == "failing" and d.interval_seconds == 900
    assert waits[:3] == [timedelta(minutes=30), timedelta(minutes=60), timedelta(minutes=90)]
    assert max(waits) == waits[-1] == timedelta(hours=24)  # still retried: never disabled


def test_hard_failures_count_more() -> None:
    soft = decide(src(), failed("soft"), NOW, POLICY)
    hard = decide(src(), failed("hard", 403), NOW, POLICY)
    assert (soft.failure_score, hard.failure_score) == (1.0, 3.0)
    assert hard.next_fetch_at - NOW == 3 * (soft.next_fetch_at - NOW)


def test_retry_after_is_honoured_and_capped() -> None:
    asked = decide(src(), failed(status=503, retry_after=7200.0), NOW, POLICY)
    assert asked.next_fetch_at == NOW + timedelta(hours=2)
    silly = decide(src(), failed(status=503, retry_after=1e9), NOW, POLICY)
    assert silly.next_fetch_at == NOW + timedelta(hours=24)


def test_429_gets_jitter() -> None:
    low = decide(src(), failed(status=429, retry_after=1000.0), NOW, POLICY, jitter_sample=0.0)
    high = decide(src(), failed(status=429, retry_after=1000.0), NOW, POLICY, jitter_sample=0.99)
    assert low.next_fetch_at == NOW + timedelta(seconds=1800)  # the backoff step beats 1000
    assert high.next_fetch_at == NOW + timedelta(seconds=2246)  # 1800 * (1 + 0.25 * 0.99)


def test_gone() -> None:
    d = decide(src(interval_seconds=900), failed("gone", 410), NOW, POLICY)
    assert d.health == "gone" and "410" in d.reason


# --------------------------------------------------------------------------- redirects


def moved(target: str = "https://b.example/feed", permanent: bool = True) -> PollObservation:
    return ok(final_url=target, permanent_redirect=permanent)


def test_permanent_redirect_adopted_after_consistent_sightings() -> None:
    first = decide(src(), moved(), NOW, POLICY)
    assert (first.redirect_url, first.redirect_count, first.new_url) == (
        "https://b.example/feed",
        1,
        None,
    )
    seen_once = src(redirect_url="https://b.example/feed", redirect_count=1)
    second = decide(seen_once, moved(), NOW, POLICY)
    assert second.redirect_count == 2 and second.new_url is None
    seen_twice = src(redirect_url="https://b.example/feed", redirect_count=2)
    third = decide(seen_twice, moved(), NOW, POLICY)
    assert third.new_url == "https://b.example/feed" and third.redirect_count == 0


def test_redirect_candidate_resets_on_change_or_temporary() -> None:
    seen = src(redirect_url="https://b.example/feed", redirect_count=2)
    other = decide(seen, moved("https://c.example/feed"), NOW, POLICY)
    assert (other.redirect_url, other.redirect_count) == ("https://c.example/feed", 1)
    temporary = decide(seen, moved(permanent=False), NOW, POLICY)
    assert (temporary.redirect_url, temporary.redirect_count) == (None, 0)
    failure = decide(seen, failed(), NOW, POLICY)  # failures leave it alone
    assert (failure.redirect_url, failure.redirect_count) == ("https://b.example/feed", 2)


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        PollPolicy(min_interval=timedelta(hours=2), max_interval=timedelta(hours=1))


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (HTTPStatusError(410, "gone"), "gone"),
        (HTTPStatusError(404, "x"), "soft"),
        (HTTPStatusError(429, "x"), "soft"),
        (HTTPStatusError(503, "x"), "soft"),
        (HTTPStatusError(403, "x"), "hard"),
        (HTTPStatusError(401, "x"), "hard"),
        (FetchTimeout("t"), "soft"),
        (FetchError("cannot resolve host x"), "soft"),
        (FetchError("TLS error connecting to x"), "soft"),
        (ParseError("not a feed"), "soft"),
        (BlockedAddress("x"), "refused"),
        (BodyTooLarge("x"), "hard"),
        (RedirectLoop("x"), "hard"),
        (UnsafeDocument("x"), "hard"),
        (FetchError("unsupported URL scheme 'ftp'"), "hard"),
    ],
)
def test_classify_failure(error: Exception, kind: str) -> None:
    assert classify_failure(error) == kind  # type: ignore[arg-type]


# --------------------------------------------------------------------------- header parsing


def test_retry_after_forms() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Fri, 27 Nov 2026 08:00:00 GMT", NOW) == 3600
    assert parse_retry_after("Fri, 27 Nov 2026 06:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_max_age_forms() -> None:
    assert parse_max_age("public, max-age=300", None, None, NOW) == 300
    assert parse_max_age("no-cache", None, None, NOW) == 0
    expires = "Fri, 27 Nov 2026 09:00:00 GMT"
    assert parse_max_age(None, expires, "Fri, 27 Nov 2026 08:00:00 GMT", NOW) == 3600
    assert parse_max_age(None, expires, None, NOW) == 7200
    assert parse_max_age(None, "0", None, NOW) is None
