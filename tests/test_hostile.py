"""Hostile and broken servers against the real poller: every case ends bounded, with a status.

The whole path runs for real: the HTTP fetcher against :mod:`tests.hostile_server` on
loopback, parsing, the scheduling decider and SQLite. Each case asserts what the fetch was
cut down to and what a user sees afterwards (health, last error, next fetch).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from feeds.models import FeedInfo
from tests.hostile_server import HostileServer
from tests.support import SettableClock, make_settings
from worker.bootstrap import Container, build_container
from worker.cli.output import feed_health

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
CAP = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    running = HostileServer()
    yield running
    running.close()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(T0)


@pytest.fixture
def c(tmp_path, clock) -> Iterator[Container]:  # type: ignore[no-untyped-def]
    settings = make_settings(
        f"sqlite:///{tmp_path / 'hostile.db'}",
        fetch_deadline=1.5,
        read_timeout=1.0,
        max_feed_bytes=CAP,
    )
    container = build_container(settings, clock=clock)
    yield container
    container.close()


def poll(c: Container, url: str) -> tuple[str, FeedInfo]:
    with c.store.transaction() as repo:
        feed_id = repo.add_feed(url, None, c.pipeline.clock.now()).id
    report = c.pipeline.poll_pass(c.pipeline.sources([feed_id]), analyze=False)
    with c.store.transaction() as repo:
        return report.feeds[0].status, repo.get_feed(feed_id)


def again(c: Container, feed_id: int) -> FeedInfo:
    c.pipeline.poll_pass(c.pipeline.sources([feed_id]), analyze=False)
    with c.store.transaction() as repo:
        return repo.get_feed(feed_id)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/drip", "deadline of 1.5s passed"),
        ("/endless", "exceeds the 1048576-byte cap"),
        ("/gzip-bomb", "after decompression"),
        ("/entity-bomb", "entity-expansion bomb"),
        ("/loop-a", "redirect loop"),
        ("/html", "not a feed"),
        ("/garbage", "not a feed"),
    ],
)
def test_bounded_failures_are_recorded_and_retried(c: Container, server, path, error) -> None:  # type: ignore[no-untyped-def]
    status, feed = poll(c, server.url(path))
    assert status == "failed"
    assert error in (feed.last_error or "")
    assert feed.health == "failing" and feed_health(feed) == "failing (1x)"
    # Never disabled: a retry is scheduled, after the backoff.
    assert feed.next_fetch_at is not None and feed.next_fetch_at > T0
    assert not feed.paused


def test_hard_errors_weigh_more_than_soft_ones(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    _, bomb = poll(c, server.url("/entity-bomb"))
    _, html = poll(c, server.url("/html"))
    assert bomb.failure_score == 3.0 and html.failure_score == 1.0
    assert bomb.next_fetch_at and html.next_fetch_at and bomb.next_fetch_at > html.next_fetch_at


def test_429_honours_retry_after_with_jitter(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    c.pipeline.jitter = lambda: 1.0  # the largest jitter
    _, feed = poll(c, server.url("/429"))
    assert feed.last_http_status == 429 and "429" in (feed.last_error or "")
    # Retry-After: 7200 s, plus 25 % jitter.
    assert feed.next_fetch_at == T0 + timedelta(seconds=9000)


def test_503_retry_after_beats_a_shorter_backoff(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    _, feed = poll(c, server.url("/503"))
    # The first backoff step would be 30 min; the server asked for 10 min: the longer wins.
    assert feed.next_fetch_at == T0 + timedelta(minutes=30)
    assert feed.health == "failing"


def test_flapping_server_is_flaky_not_dead(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    server.state.counters.pop("/flap", None)
    status, feed = poll(c, server.url("/flap"))  # 500
    assert status == "failed" and feed.health == "failing"
    scores = [feed.failure_score]
    healths = []
    for _ in range(5):  # 200, 500, 200, 500, 200
        feed = again(c, feed.id)
        scores.append(feed.failure_score)
        healths.append(feed.health)
    assert healths == ["flaky", "failing", "flaky", "failing", "flaky"]
    assert scores == [1.0, 0.5, 1.5, 0.75, 1.75, 0.875]
    assert feed.article_count == 2 and feed.last_error is None


def test_410_marks_the_feed_gone_and_it_is_not_polled(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    status, feed = poll(c, server.url("/gone"))
    assert status == "failed" and feed.health == "gone"
    assert feed_health(feed) == "gone (410)"
    c.pipeline.clock.current = T0 + timedelta(days=30)  # type: ignore[attr-defined]
    assert feed.id not in [s.id for s in c.pipeline.due_feeds()]
    with c.store.transaction() as repo:
        repo.set_feed_paused(feed.id, False)  # `feeds resume` gives it another chance
    assert feed.id in [s.id for s in c.pipeline.due_feeds()]


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/latin1", "Zürich décide"),
        ("/mislabelled", "Straße gesperrt"),
        ("/no-content-type", "bare story 0"),
        ("/json", "Harbour reopens"),
    ],
)
def test_odd_encodings_and_formats_are_read(c: Container, server, path, title) -> None:  # type: ignore[no-untyped-def]
    status, feed = poll(c, server.url(path))
    assert status == "ok", feed.last_error
    with c.store.transaction() as repo:
        titles = [a.title for a in repo.iter_articles()]
    assert title in titles or any(title in t for t in titles), titles
    assert feed.health == "ok"


def test_unchanged_body_counts_as_not_modified(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    status, feed = poll(c, server.url("/ok"))  # no validators on this route
    assert status == "ok" and feed.interval_seconds == 900  # 3 of 3 new: 30 min halved
    c.pipeline.clock.current = T0 + timedelta(hours=1)  # type: ignore[attr-defined]
    report = c.pipeline.poll_pass(c.pipeline.sources([feed.id]), analyze=False)
    assert report.feeds[0].status == "not_modified"
    with c.store.transaction() as repo:
        after = repo.get_feed(feed.id)
    assert after.interval_seconds == 1125  # nothing new: grows by a quarter


def test_cache_control_is_a_lower_bound(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    _, feed = poll(c, server.url("/cached"))
    assert feed.next_fetch_at == T0 + timedelta(hours=2)  # max-age=7200 beats 15 min


def test_permanent_redirect_adopted_after_three_polls(c: Container, server) -> None:  # type: ignore[no-untyped-def]
    status, feed = poll(c, server.url("/moved"))
    assert status == "ok" and feed.url == server.url("/moved")
    feed = again(c, feed.id)
    assert feed.url == server.url("/moved")  # seen twice: not yet
    feed = again(c, feed.id)
    assert feed.url == server.url("/moved-here")  # third time: adopted
