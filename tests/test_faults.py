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


def test_redis_restarted_mid_run(
    empty_pg_url: str, private_redis: RedisServer, server: RunningServer, tmp_path: Path
) -> None:
    urls, stories = publish(server)
    env = environment(empty_pg_url, private_redis.url())
    _seed(env, urls, tmp_path)
    ledger = Ledger(empty_pg_url)
    worker = Worker(env, tmp_path / "worker.log")
    # Beat re-offers polls whose tasks died with the connection (after the claim window).
    beat = Worker(env, tmp_path / "beat.log", beat=True)
    worker.start()
    beat.start()
    restarts = [0]

    def supervise() -> None:
        restarts[0] += worker.supervise() + beat.supervise()

    try:
        assert cli(env, "poll", "--all", "--enqueue").returncode == 0
        time.sleep(3)
        private_redis.restart(down_for=2.0)
        restarted = time.monotonic()
        try:
            wait_until(lambda: ledger.complete(FEEDS, stories), 150, while_waiting=supervise)
        except AssertionError:
            raise AssertionError(f"{ledger.progress()} {worker.tail()}") from None
        took = time.monotonic() - restarted
    finally:
        worker.stop()
        beat.stop()
    print(f"\nscenario 2: Redis down 2 s; complete {took:.1f}s after it came back; "
          f"{restarts[0]} process restarts by the supervisor")
    ledger.assert_exactly_once(stories, FEEDS)
    ledger.close()


def test_postgres_connections_killed_and_server_restarted(
    private_postgres: PostgresServer, private_redis: RedisServer, server: RunningServer,
    tmp_path: Path,
) -> None:
    urls, stories = publish(server)
    env = environment(private_postgres.url, private_redis.url())
    _seed(env, urls, tmp_path)
    ledger = Ledger(private_postgres.url)
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        assert cli(env, "poll", "--all", "--enqueue").returncode == 0
        time.sleep(2)
        killed = private_postgres.kill_connections()
        time.sleep(2)
        private_postgres.restart(fast=True, down_for=2.0)
        restarted = time.monotonic()
        wait_until(lambda: ledger.complete(FEEDS, stories), 300)
        took = time.monotonic() - restarted
    finally:
        worker.stop()
    print(f"\nscenario 3: {killed} connections killed, then a restart; "
          f"complete {took:.1f}s after it came back")
    ledger.assert_exactly_once(stories, FEEDS)
    ledger.close()


def test_poison_message_is_parked_and_the_rest_unaffected(
    empty_pg_url: str, private_redis: RedisServer, server: RunningServer, tmp_path: Path
) -> None:
    urls, stories = publish(server)
    poison = server.state.put("/poison.xml", "<rss/>")
    env = environment(empty_pg_url, private_redis.url(), NEWSMON_MAX_TASK_CRASHES="3")
    _seed(env, [poison, *urls], tmp_path)
    ledger = Ledger(empty_pg_url)
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        assert cli(env, "poll", "--all", "--enqueue").returncode == 0
        wait_until(lambda: ledger.complete(FEEDS, stories), 300)
        wait_until(lambda: "parked after 3 crashes" in cli(env, "tasks", "parked").stdout, 60)
    finally:
        worker.stop()
    print(worker.tail(800))
    listed = cli(env, "tasks", "parked")
    assert listed.returncode == 0
    assert "newsmon.poll_feed(1) parked after 3 crashes" in listed.stdout
    with ledger.store.transaction() as repo:
        victim = repo.get_feed(1)
    assert victim.url == poison and victim.paused and victim.last_fetch_at is None
    ledger.assert_exactly_once(stories, FEEDS)
    ledger.close()


def test_embedded_run_killed_with_sigkill_and_restarted(
    server: RunningServer, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess

    from tests.faults_support import NEWSMON
    from worker.settings import REPO_ROOT

    urls, stories = publish(server)
    db = f"sqlite:///{tmp_path / 'embedded.db'}"
    env = environment(db, "redis://127.0.0.1:1/0")
    _seed(env, urls, tmp_path)
    ledger = Ledger(db)
    rng = random.Random(7)
    kills = 0
    log = (tmp_path / "run.log").open("ab")
    started = time.monotonic()
    while True:
        proc = subprocess.Popen([NEWSMON, "run", "--tick", "0.5"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        if kills < 4:
            time.sleep(rng.uniform(1.5, 4.0))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        try:
            wait_until(lambda: ledger.complete(FEEDS, stories), 300)
        finally:
            proc.terminate()
            proc.wait(30)
        break
    print(f"\nscenario 7: {kills} SIGKILLs of `newsmon run`; complete after "
          f"{time.monotonic() - started:.1f}s")
    ledger.assert_exactly_once(stories, FEEDS)
    ledger.close()
