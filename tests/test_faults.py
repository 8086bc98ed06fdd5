"""Fault injection with real processes and servers: nothing lost, nothing twice.

Each scenario runs real ``newsmon worker`` / ``beat`` / ``run`` processes against loopback
feed and SMTP servers, injects its fault, waits until the system has recovered by itself
and then checks the invariants: every story stored exactly once with its analysis, every
digest copy sent once per period (or resent with the same Message-ID, docs/DIGESTS.md).
Servers that are killed are private to the test (tests/services.py). Scenario sizes: see
tests/faults_support.py (``NEWSMON_FAULT_FEEDS``). Recovery times are printed (``-s``).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.faults_support import (
    FEEDS,
    Ledger,
    Worker,
    cli,
    environment,
    publish,
    wait_until,
)
from tests.feedserver import RunningServer
from tests.services import PostgresServer, RedisServer

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.postgres]


def _seed(env: dict[str, str], urls: list[str], tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    body = "".join(f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls))
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><head/><body>{body}</body></opml>')
    done = cli(env, "feeds", "import", str(opml))
    assert done.returncode == 0, done.stderr


def test_workers_killed_at_random_lose_and_duplicate_nothing(
    empty_pg_url: str, private_redis: RedisServer, server: RunningServer, tmp_path: Path
) -> None:
    urls, stories = publish(server)
    env = environment(empty_pg_url, private_redis.url())
    _seed(env, urls, tmp_path)
    ledger = Ledger(empty_pg_url)
    worker = Worker(env, tmp_path / "worker.log")
    rng = random.Random(9)
    kills = {"child": 0, "worker": 0}
    next_kill = [time.monotonic() + 2.0]

    def chaos() -> None:
        if time.monotonic() < next_kill[0]:
            return
        next_kill[0] = time.monotonic() + rng.uniform(0.5, 2.0)
        if kills["child"] < 12 and worker.kill_child(rng):
            kills["child"] += 1
        if kills["worker"] < 2 and rng.random() < 0.15:
            worker.kill()
            kills["worker"] += 1
            worker.start()

    worker.start()
    try:
        enq = cli(env, "poll", "--all", "--enqueue")
        assert enq.returncode == 0, enq.stderr
        took = wait_until(lambda: ledger.complete(FEEDS, stories), 400, while_waiting=chaos)
    finally:
        worker.stop()
    print(f"\nscenario 1: {FEEDS} feeds, {kills} kills, complete after {took:.1f}s")
    assert kills["child"] > 0
    ledger.assert_exactly_once(stories, FEEDS)
    ledger.close()
