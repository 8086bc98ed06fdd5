"""`newsmon worker` and `newsmon beat` as real processes, configured only by the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.feedserver import pub_date, rss
from tests.support import make_settings
from worker.bootstrap import build_container

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

REDIS_URL = os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
NEWSMON = str(Path(sys.executable).parent / "newsmon")


def _env(pg_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEWSMON_DATABASE_URL=pg_url,
        NEWSMON_BROKER_URL=REDIS_URL,
        NEWSMON_ALLOW_PRIVATE_NETWORKS="true",
        NEWSMON_POLL_INTERVAL_MINUTES="60",
        NEWSMON_SCHEDULER_TICK_SECONDS="2",
    )
    return env


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


def test_beat_and_worker_processes_poll_due_feeds(empty_pg_url, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(REDIS_URL).flushdb()
    urls = [
        server.state.put(
            f"/{n}.xml",
            rss(
                f"Outlet {n}",
                [
                    {
                        "title": f"Story {n}-{i}",
                        "link": f"https://o{n}.example/{i}",
                        "guid": f"{n}-{i}",
                        "description": "NATO allies met in Brussels.",
                        "pubDate": pub_date(i),
                    }
                    for i in range(5)
                ],
            ),
        )
        for n in range(3)
    ]
    c = build_container(make_settings(empty_pg_url))
    with c.store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, c.pipeline.clock.now())

    env = _env(empty_pg_url)
    worker = subprocess.Popen(
        [NEWSMON, "worker", "--concurrency", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    beat = subprocess.Popen(
        [NEWSMON, "beat", "--schedule", str(tmp_path / "beat-schedule")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with c.store.transaction() as repo:
                feeds = repo.list_feeds()
                pending = repo.pending_analysis(limit=1)
                stored = repo.count_articles()
            if all(f.last_success_at for f in feeds) and stored == 15 and not pending:
                break
            time.sleep(0.5)
    finally:
        worker_log = _stop(worker)
        beat_log = _stop(beat)
    # Beat found the due feeds, the worker polled and analysed them: nothing was run by hand.
    assert stored == 15, worker_log[-3000:] + beat_log[-2000:]
    assert not pending
    with c.store.transaction() as repo:
        articles = list(repo.iter_articles())
        feeds = repo.list_feeds()
    assert all(a.analyzed for a in articles)
    assert any(actor.name == "NATO" for a in articles for actor in a.actors)
    # The next fetch was scheduled an interval ahead, so beat will not offer them again.
    assert all(
        f.next_fetch_at and f.last_fetch_at and f.next_fetch_at > f.last_fetch_at for f in feeds
    )
    assert "newsmon.poll_due_feeds" in beat_log or "Scheduler" in beat_log
    c.close()
