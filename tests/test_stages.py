"""Ingest and analysis as separate stages: deferred analysis, `reanalyze`, Celery queues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from tests.cli_support import invoke
from tests.feedserver import pub_date, rss
from tests.support import make_settings
from worker import bootstrap
from worker.bootstrap import build_container
from worker.celery import tasks
from worker.celery.app import TASK_ROUTES, celery_config
from worker.celery.app import app as celery_app

REDIS_URL = os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
NEWSMON = str(Path(sys.executable).parent / "newsmon")


def _items(outlet: str, n: int, *, shared: int = 0) -> list[dict[str, str]]:
    """``n`` items of one outlet; the first ``shared`` are wire copies every outlet carries."""
    items = []
    for i in range(n):
        wire = i < shared
        items.append(
            {
                "title": f"NATO ministers meet {i}" if wire else f"{outlet} local story {i}",
                "link": f"https://wire.example/{i}" if wire else f"https://{outlet}.example/{i}",
                "guid": f"{outlet}-{i}",
                "pubDate": pub_date(i / 10),
                "description": f"NATO allies praised the talks in Brussels, item {i} of {outlet}.",
            }
        )
    return items


def _pending(store) -> int:  # type: ignore[no-untyped-def]
    with store.transaction() as repo:
        return len(repo.article_ids(pending=True))


# --------------------------------------------------------------------------- embedded, CLI


def test_deferred_poll_then_reanalyze_pending_and_since(env, server) -> None:  # type: ignore[no-untyped-def]
    url = server.state.put("/a.xml", rss("Outlet A", _items("a", 6)))
    assert invoke("feeds", "add", url).exit_code == 0

    deferred = invoke("poll", "--all", "--defer-analysis")
    assert deferred.exit_code == 0, deferred.output
    assert "6 new articles, 0 analysed" in deferred.output
    store = bootstrap.container().store
    assert _pending(store) == 6

    result = invoke("reanalyze", "--pending", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "analysed 6 articles" in result.output
    assert _pending(store) == 0
    with store.transaction() as repo:
        articles = list(repo.iter_articles())
    assert all(a.analyzed and any(x.name == "NATO" for x in a.actors) for a in articles)
    # Stories belong to the analysis stage: a deferred poll's articles get theirs here.
    assert all(a.story_id is not None for a in articles)
    assert "nothing to analyse" in invoke("reanalyze", "--pending").output

    # Re-analysis covers analysed articles too, and replaces rather than adds.
    again = invoke("reanalyze", "--since", "2000-01-01", "--batch", "4")
    assert again.exit_code == 0, again.output
    assert "analysed 6 articles" in again.output
    with store.transaction() as repo:
        assert [len(a.actors) for a in repo.iter_articles()] == [len(a.actors) for a in articles]
    assert "nothing to analyse" in invoke("reanalyze", "--since", "2999-01-01").output


def test_a_later_poll_analyses_what_a_deferred_one_left(env, server) -> None:  # type: ignore[no-untyped-def]
    first = server.state.put("/a.xml", rss("Outlet A", _items("a", 3)))
    assert invoke("feeds", "add", first).exit_code == 0
    assert "0 analysed" in invoke("poll", "--all", "--defer-analysis").output
    second = server.state.put("/b.xml", rss("Outlet B", _items("b", 2)))
    assert invoke("feeds", "add", second).exit_code == 0
    result = invoke("poll", "2")
    assert "2 new articles, 5 analysed" in result.output, result.output
    assert _pending(bootstrap.container().store) == 0


def test_reanalyze_rejects_bad_arguments(env) -> None:  # type: ignore[no-untyped-def]
    neither = invoke("reanalyze")
    assert neither.exit_code == 2 and "exactly one" in neither.output
    both = invoke("reanalyze", "--pending", "--since", "2026-01-01")
    assert both.exit_code == 2
    bad = invoke("reanalyze", "--since", "yesterday")
    assert bad.exit_code == 1 and bad.output.count("\n") == 1
    assert "not an ISO date" in bad.output and "Traceback" not in bad.output


# --------------------------------------------------------------------------- distributed


def test_celery_routes_ingest_and_analysis_to_their_queues() -> None:
    conf = celery_config(make_settings("sqlite:///unused.db"))
    assert {q.name for q in conf["task_queues"]} == {"celery", "ingest", "analysis"}
    assert conf["task_routes"]["newsmon.poll_feed"] == {"queue": "ingest"}
    assert conf["task_routes"]["newsmon.analyze_articles"] == {"queue": "analysis"}
    assert set(TASK_ROUTES) <= set(celery_app.tasks) and tasks.poll_feed.name in TASK_ROUTES


@pytest.fixture
def distributed(empty_pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = make_settings(empty_pg_url, broker_url=REDIS_URL)
    for key, value in {
        "NEWSMON_DATABASE_URL": empty_pg_url,
        "NEWSMON_BROKER_URL": REDIS_URL,
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_HOST_MIN_SPACING": "0",
        "NEWSMON_HOST_MAX_CONCURRENCY": "16",
    }.items():
        monkeypatch.setenv(key, value)
    bootstrap.configure(settings)
    celery_app.conf.update(celery_config(settings))
    yield empty_pg_url
    bootstrap.configure(None)


@pytest.mark.redis
@pytest.mark.postgres
def test_an_ingest_worker_stores_and_an_analysis_worker_analyses(distributed, server) -> None:  # type: ignore[no-untyped-def]
    urls = [server.state.put(f"/{o}.xml", rss(o, _items(o, 8, shared=4))) for o in "abc"]
    c = bootstrap.container()
    with c.store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, c.pipeline.clock.now())

    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=30, queues=["ingest"]):
        result = invoke(
            "poll", "--all", "--enqueue", "--wait", "--defer-analysis", "--timeout", "120"
        )
        assert result.exit_code == 0, result.output
    assert "16 new articles" in result.output  # 4 wire stories stored once, 3 x 4 local
    # No analysis worker ran: the ingest worker left every article for the analysis queue.
    assert _pending(c.store) == 16
    queued = redis.Redis.from_url(REDIS_URL).llen("analysis")
    assert queued == 1  # one analyze_articles task for the batch, waiting in its own queue

    with start_worker(
        celery_app, perform_ping_check=False, shutdown_timeout=30, queues=["analysis"]
    ):
        deadline = time.monotonic() + 60
        while _pending(c.store) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _pending(c.store) == 0
    with c.store.transaction() as repo:
        assert repo.count_articles() == 16


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_two_worker_processes_split_one_pass_without_duplicates(distributed, server) -> None:  # type: ignore[no-untyped-def]
    feeds = 24
    urls = [
        server.state.put(f"/{n}.xml", rss(f"o{n}", _items(f"o{n}", 6, shared=3)))
        for n in range(feeds)
    ]
    c = build_container(make_settings(distributed))
    with c.store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, c.pipeline.clock.now())

    env = dict(os.environ)
    env["NEWSMON_SCHEDULER_TICK_SECONDS"] = "3600"  # no beat here; keep workers quiet
    workers = [
        subprocess.Popen(
            [NEWSMON, "worker", "--concurrency", "1", "--loglevel", "INFO", "-n", f"split{n}@%h"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for n in (1, 2)
    ]
    try:
        time.sleep(3)  # both connected before the pass is queued, so both can take work
        result = invoke("poll", "--all", "--enqueue", "--wait", "--timeout", "150")
    finally:
        logs = [_stop(w) for w in workers]
    assert result.exit_code == 0, result.output + logs[0][-2000:] + logs[1][-2000:]
    polls = [log.count("newsmon.poll_feeds[") - log.count("received") for log in logs]
    done = [
        sum(1 for line in log.splitlines() if "newsmon.poll_feeds[" in line and "succeeded" in line)
        for log in logs
    ]
    assert all(n > 0 for n in done), (done, polls)  # both workers took part of the pass
    assert sum(done) == 2  # the 24 feeds in batches of 20 and 4, each run once
    fetched = sorted(e.path for e in server.state.log)
    assert fetched == sorted(f"/{n}.xml" for n in range(feeds)), (
        server.state.log,
        [ln for log in logs for ln in log.splitlines() if "9" in ln][:60],
    )
    with c.store.transaction() as repo:
        # 3 wire stories shared by every feed, stored once; 3 local ones per feed.
        assert repo.count_articles() == 3 + 3 * feeds
        assert not repo.article_ids(pending=True)
    c.close()
