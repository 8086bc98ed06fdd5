"""The distributed deployment: a real Celery worker on real Redis, storing in PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from typer.testing import CliRunner

from tests.feedserver import pub_date, rss
from tests.support import make_settings
from worker import bootstrap
from worker.celery.app import app as celery_app
from worker.celery.app import celery_config
from worker.cli import app as cli
from worker.schedule import beat_schedule

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def distributed(empty_pg_url: str, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    yield from _distributed(empty_pg_url, monkeypatch)


@pytest.fixture
def polite(empty_pg_url: str, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The same, with real politeness on the one test host: a start every 0.4 s, one at a
    time (as an outlet whose many section feeds share one host)."""
    yield from _distributed(
        empty_pg_url, monkeypatch, host_min_spacing=SPACING, host_max_concurrency=1
    )


SPACING = 0.4


def _distributed(empty_pg_url: str, monkeypatch, **overrides: object) -> Iterator[None]:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(REDIS_URL).flushdb()  # a test database of our own, never db 0
    settings = make_settings(empty_pg_url, broker_url=REDIS_URL, **overrides)
    for key, value in {
        "NEWSMON_DATABASE_URL": empty_pg_url,
        "NEWSMON_BROKER_URL": REDIS_URL,
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
    }.items():
        monkeypatch.setenv(key, value)
    bootstrap.configure(settings)
    celery_app.conf.update(celery_config(settings))
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=30):
        yield
    bootstrap.configure(None)


def _item(n: int, outlet: str) -> dict[str, str]:
    return {
        "title": f"Kremlin remarks {n}",
        "link": f"https://wire.example/{n}",
        "guid": f"{outlet}-{n}",
        "pubDate": pub_date(n),
        "description": f"Russia was criticised for the attack number {n}.",
    }


def test_poll_enqueue_wait_stores_and_analyses_once(distributed, server) -> None:
    urls = [
        server.state.put(f"/{o}.xml", rss(o, [_item(n, o) for n in range(20)]))
        for o in ("a", "b", "c")
    ]
    with bootstrap.container().store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, bootstrap.container().pipeline.clock.now())

    runner = CliRunner()
    result = runner.invoke(cli, ["poll", "--all", "--enqueue", "--wait", "--timeout", "120"])
    assert result.exit_code == 0, result.output
    assert "enqueued 3 feeds" in result.output and "20 new articles" in result.output

    with bootstrap.container().store.transaction() as repo:
        articles = list(repo.iter_articles())
        feeds = repo.list_feeds()
    assert len(articles) == 20  # the same 20 wire stories in three feeds, stored once
    assert all(len(a.feeds) == 3 and a.analyzed for a in articles)
    assert all(any(x.name == "Russia" for x in a.actors) for a in articles)
    assert all(f.etag and f.error_count == 0 for f in feeds)

    # Running the pass again (a task delivered twice) changes nothing and is conditional.
    server.state.log.clear()
    again = runner.invoke(cli, ["poll", "--all", "--enqueue", "--wait", "--timeout", "120"])
    assert again.exit_code == 0, again.output
    assert "0 new articles" in again.output
    assert {e.status for e in server.state.log} == {304}
    with bootstrap.container().store.transaction() as repo:
        assert repo.count_articles() == 20


def test_poll_enqueue_wait_exits_3_when_every_feed_failed(distributed, server) -> None:
    urls = [server.state.url(f"/missing-{n}.xml") for n in range(2)]  # both answer 404
    with bootstrap.container().store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, bootstrap.container().pipeline.clock.now())
    result = CliRunner().invoke(cli, ["poll", "--all", "--enqueue", "--wait", "--timeout", "120"])
    assert result.exit_code == 3, result.output
    assert "0 ok, 2 failed" in result.output and "every feed failed (2 feeds)" in result.output


@contextmanager
def poll_tasks() -> Iterator[list[list[int]]]:
    """The feed ids of every ``poll_feeds`` task the in-process worker runs meanwhile."""
    executions: list[list[int]] = []

    def count(sender=None, args=None, **_: object) -> None:  # type: ignore[no-untyped-def]
        if sender is not None and sender.name == "newsmon.poll_feeds":
            executions.append(list(args[0]))

    task_prerun.connect(count)
    try:
        yield executions
    finally:
        task_prerun.disconnect(count)


def test_feeds_of_many_outlets_share_a_task_and_one_host_waits_its_turn_once(
    polite, server
) -> None:
    """Issue 21: queued feeds are booked for their host's turns, so each is polled once,
    politely, with no task coming back again and again while the host is busy."""
    feeds = 10
    urls = [
        server.state.put(
            f"/section-{n}.xml", rss(f"s{n}", [_item(n * 10 + k, f"s{n}") for k in range(3)])
        )
        for n in range(feeds)
    ]
    with bootstrap.container().store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, bootstrap.container().pipeline.clock.now())
    with poll_tasks() as executions:
        result = CliRunner().invoke(
            cli, ["poll", "--all", "--enqueue", "--wait", "--timeout", "120"]
        )
    assert result.exit_code == 0, result.output
    assert f"{feeds} ok, 0 failed" in result.output
    fetches = [e for e in server.state.log if e.path.startswith("/section-")]
    assert sorted(e.path for e in fetches) == sorted(f"/section-{n}.xml" for n in range(feeds))
    starts = sorted(e.at for e in fetches)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= SPACING - 0.05  # polite
    polled = [i for ids in executions for i in ids]
    assert sorted(set(polled)) == sorted(range(1, feeds + 1))
    # each feed run once: none came back for its host (a deferral would be a second run)
    assert len(polled) == feeds, executions


def test_feeds_due_together_are_polled_by_one_task(distributed, server) -> None:
    urls = [server.state.put(f"/o{n}.xml", rss(f"o{n}", [_item(n, f"o{n}")])) for n in range(5)]
    with bootstrap.container().store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, bootstrap.container().pipeline.clock.now())
    with poll_tasks() as executions:
        for _ in range(2):
            result = CliRunner().invoke(
                cli, ["poll", "--all", "--enqueue", "--wait", "--timeout", "120"]
            )
            assert result.exit_code == 0, result.output
    # no spacing on the test host: every feed's turn is now, so one task polls all five
    assert executions == [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]
    assert {e.status for e in server.state.log[5:]} == {304}


def test_celery_settings_make_delivery_at_least_once() -> None:
    conf = celery_config(make_settings("sqlite:///unused.db"))
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_soft_time_limit"] < conf["task_time_limit"]
    assert conf["broker_transport_options"]["visibility_timeout"] > conf["task_time_limit"]
    tasks = {entry["task"] for entry in beat_schedule(60.0).values()}
    assert tasks <= set(celery_app.tasks)
