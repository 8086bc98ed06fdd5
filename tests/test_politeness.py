"""Per-host limits: the in-process limiter, the Redis one shared by workers, the dispatcher."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from feeds.fetch.politeness import (
    HostBusy,
    LocalHostLimiter,
    PollBatch,
    host_key,
    plan_batches,
    run_politely,
)
from tests.hostile_server import HostileServer, State, rss_items
from tests.support import make_settings
from worker.bootstrap import build_container
from worker.celery.host_limiter import RedisHostLimiter

REDIS_URL = os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_host_key() -> None:
    assert host_key("https://WWW.Example.org:8443/feed?x=1") == "www.example.org"
    assert host_key("http://feeds.example.org./rss") == "feeds.example.org"
    assert host_key("http://[::1]:80/") == "::1"
    assert host_key("not a url") == "(no host)"


def test_local_limiter_concurrency_and_spacing() -> None:
    clock = FakeMonotonic()
    limiter = LocalHostLimiter(2, 1.0, monotonic=clock)
    a = limiter.try_acquire("a.example")
    assert a.granted
    early = limiter.try_acquire("a.example")
    assert not early.granted and early.wait == pytest.approx(1.0)
    assert limiter.try_acquire("b.example").granted  # other hosts are independent
    clock.now += 1.0
    b = limiter.try_acquire("a.example")
    assert b.granted and limiter.in_flight("a.example") == 2
    clock.now += 5.0
    assert not limiter.try_acquire("a.example").granted  # two in flight: full
    assert a.token is not None
    limiter.release("a.example", a.token)
    assert limiter.try_acquire("a.example").granted


def test_limiter_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        LocalHostLimiter(0)
    with pytest.raises(ValueError):
        LocalHostLimiter(1, -1)


def test_a_slow_host_never_blocks_the_others() -> None:
    release_slow = threading.Event()
    timed_out: list[bool] = []
    done_order: list[str] = []

    def work(item: str) -> str:
        if item.startswith("slow"):
            # Held until every fast item is done: if the dispatcher parked threads on the
            # busy slow host, the fast ones could not finish and this would time out.
            timed_out.append(not release_slow.wait(20))
        return item

    items = [f"slow{i}" for i in range(6)] + [f"fast{h}-{i}" for h in range(5) for i in range(4)]
    fast_total = 20
    for item, _ in run_politely(
        items,
        host_of=lambda s: s.split("-")[0] if s.startswith("fast") else "slow",
        limiter=LocalHostLimiter(2, 0.0),
        work=work,
        workers=4,
    ):
        done_order.append(item)
        if sum(1 for d in done_order if d.startswith("fast")) == fast_total:
            release_slow.set()
    assert sorted(done_order) == sorted(items)
    assert timed_out and not any(timed_out)
    # All fast items finished before the first slow one: the slow host held at most its
    # two slots, never the whole pool.
    assert all(d.startswith("fast") for d in done_order[:fast_total])


def test_pass_respects_the_limit_at_the_servers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = State(delay=0.05)
    servers = [HostileServer(f"127.0.0.{n}", state) for n in (4, 5, 6)]
    try:
        for i in range(10):
            state.documents[f"/f{i}.xml"] = rss_items(f"f{i}", 2)
        settings = make_settings(
            f"sqlite:///{tmp_path / 'p.db'}", host_max_concurrency=2, fetch_concurrency=12
        )
        c = build_container(settings)
        with c.store.transaction() as repo:
            for s in servers:
                for i in range(10):
                    repo.add_feed(s.url(f"/f{i}.xml"), None, c.pipeline.clock.now())
        report = c.pipeline.poll_pass(c.pipeline.sources(), analyze=False)
        c.close()
        assert report.count("ok") == 30
        assert {h: state.max_in_flight[h] for h in state.max_in_flight} == {
            "127.0.0.4": 2,
            "127.0.0.5": 2,
            "127.0.0.6": 2,
        }
    finally:
        for s in servers:
            s.close()


def test_poll_feed_defers_when_the_host_is_busy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = HostileServer("127.0.0.7")
    try:
        c = build_container(make_settings(f"sqlite:///{tmp_path / 'd.db'}", host_max_concurrency=1))
        with c.store.transaction() as repo:
            feed = repo.add_feed(server.url("/ok"), None, c.pipeline.clock.now())
        held = c.pipeline.host_limiter.try_acquire("127.0.0.7")  # type: ignore[union-attr]
        report = c.pipeline.poll_feed(feed.id)
        assert report.status == "deferred" and report.retry_in is not None
        assert server.state.requests_to("/ok") == []  # nothing was fetched
        assert held.token is not None
        c.pipeline.host_limiter.release("127.0.0.7", held.token)  # type: ignore[union-attr]
        assert c.pipeline.poll_feed(feed.id).status == "ok"
        c.close()
    finally:
        server.close()


# --------------------------------------------------------------------------- Redis


@pytest.fixture
def redis_limiters() -> Iterator[tuple[RedisHostLimiter, RedisHostLimiter]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    one = RedisHostLimiter(REDIS_URL, max_concurrent=2, min_spacing=0.0, lease_seconds=30)
    two = RedisHostLimiter(REDIS_URL, max_concurrent=2, min_spacing=0.0, lease_seconds=30)
    yield one, two
    one.close()
    two.close()


@pytest.mark.redis
def test_redis_limit_is_shared_between_workers(redis_limiters) -> None:  # type: ignore[no-untyped-def]
    one, two = redis_limiters
    a = one.try_acquire("news.example")
    b = two.try_acquire("news.example")
    assert a.granted and b.granted
    refused = one.try_acquire("news.example")
    assert not refused.granted and refused.wait > 0
    assert two.try_acquire("other.example").granted
    assert b.token is not None
    two.release("news.example", b.token)
    assert one.in_flight("news.example") == 1
    assert one.try_acquire("news.example").granted


@pytest.mark.redis
def test_redis_spacing() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    limiter = RedisHostLimiter(REDIS_URL, max_concurrent=5, min_spacing=30.0)
    try:
        assert limiter.try_acquire("spaced.example").granted
        second = limiter.try_acquire("spaced.example")
        assert not second.granted and 0 < second.wait <= 30
    finally:
        limiter.close()


@pytest.mark.redis
def test_redis_lease_of_a_killed_worker_expires() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    limiter = RedisHostLimiter(REDIS_URL, max_concurrent=1, min_spacing=0.0, lease_seconds=0.3)
    try:
        assert limiter.try_acquire("dead.example").granted  # never released: worker killed
        assert not limiter.try_acquire("dead.example").granted
        time.sleep(0.4)
        assert limiter.try_acquire("dead.example").granted
    finally:
        limiter.close()


@pytest.mark.redis
def test_redis_unreachable_is_one_line_storage_error() -> None:
    from feeds.errors import StorageError

    limiter = RedisHostLimiter("redis://127.0.0.1:1/0")
    with pytest.raises(StorageError, match="cannot reach Redis for host limits"):
        limiter.try_acquire("x.example")


def test_a_failing_limiter_surfaces_in_the_caller() -> None:
    from feeds.errors import StorageError
    from feeds.models import HostGrant

    class Broken:
        def try_acquire(self, host: str) -> HostGrant:
            raise StorageError("limiter store down")

        def release(self, host: str, token: str) -> None:
            pass

    with pytest.raises(StorageError, match="limiter store down"):
        list(run_politely(["a"], host_of=str, limiter=Broken(), work=str, workers=2))


def test_celery_tasks_share_limits_through_redis() -> None:
    from worker.bootstrap import build_host_limiter

    settings = make_settings("sqlite:///unused.db", broker_url=REDIS_URL)
    assert isinstance(build_host_limiter(settings), LocalHostLimiter)
    shared = build_host_limiter(settings, celery_worker=True)
    assert isinstance(shared, RedisHostLimiter) and shared.url == REDIS_URL
    shared.close()
    forced = make_settings("sqlite:///unused.db", broker_url=REDIS_URL, host_limiter="local")
    assert isinstance(build_host_limiter(forced, celery_worker=True), LocalHostLimiter)


def test_reservations_book_successive_turns_after_the_last_grant() -> None:
    clock = FakeMonotonic()
    limiter = LocalHostLimiter(max_concurrent=2, min_spacing=1.5, monotonic=clock)
    assert limiter.try_acquire("a.example").granted  # the host's next start: now + 1.5
    assert [limiter.reserve("a.example") for _ in range(3)] == [1.5, 3.0, 4.5]
    assert limiter.reserve("b.example") == 0.0  # other hosts are not held up
    clock.now += 10  # the booked turns have passed: the next one is now
    assert limiter.reserve("a.example") == 0.0
    unspaced = LocalHostLimiter(max_concurrent=2, min_spacing=0.0, monotonic=clock)
    assert [unspaced.reserve("a.example") for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.redis
def test_redis_reservations_are_shared_between_workers() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    one = RedisHostLimiter(REDIS_URL, max_concurrent=2, min_spacing=2.0)
    two = RedisHostLimiter(REDIS_URL, max_concurrent=2, min_spacing=2.0)
    try:
        turns = [one.reserve("booked.example"), two.reserve("booked.example")]
        turns.append(one.reserve("booked.example"))
        assert turns[0] == 0.0
        assert turns[1] == pytest.approx(2.0, abs=0.1) and turns[2] == pytest.approx(4.0, abs=0.1)
        assert two.reserve("elsewhere.example") == 0.0
        # a grant moves the host's next start, and bookings queue after it
        assert one.try_acquire("fresh.example").granted
        assert two.reserve("fresh.example") == pytest.approx(2.0, abs=0.1)
    finally:
        one.close()
        two.close()


def test_batches_group_feeds_by_their_booked_turn() -> None:
    booked = [(1, 0.0), (2, 0.0), (3, 0.4), (4, 1.0), (5, 1.2), (6, 2.0), (7, 0.2)]
    assert plan_batches(booked, size=2) == [
        PollBatch(0.0, (1, 2)),
        PollBatch(0.2, (3, 7)),
        PollBatch(1.0, (4, 5)),
        PollBatch(2.0, (6,)),
    ]
    one_host = [(n, n * 1.0) for n in range(5)]  # a busy host's feeds, one second apart
    assert [b.feed_ids for b in plan_batches(one_host, size=20)] == [(n,) for n in range(5)]
    assert plan_batches([], size=3) == []
    with pytest.raises(ValueError):
        plan_batches(booked, size=0)


def test_a_host_busy_for_longer_than_the_patience_is_handed_back() -> None:
    clock = FakeMonotonic()
    limiter = LocalHostLimiter(max_concurrent=1, min_spacing=60.0, monotonic=clock)
    items = ["slow.example/1", "slow.example/2", "fast.example/1", "other.example/1"]
    results = dict(
        run_politely(
            items,
            host_of=lambda i: i.split("/")[0],
            limiter=limiter,
            work=lambda i: f"fetched {i}",
            workers=2,
            defer=(5.0, lambda item, wait: HostBusy(wait)),
        )
    )
    assert results["slow.example/1"] == "fetched slow.example/1"
    assert results["slow.example/2"] == HostBusy(60.0)  # not waited for a minute
    assert results["fast.example/1"] == "fetched fast.example/1"
    assert results["other.example/1"] == "fetched other.example/1"
