"""Helpers of the fault-injection suite: real worker processes, a corpus, the invariants.

Scale: feeds of four items each — three of the feed's own and one wire story shared by
three feeds, which must be stored once. Scenario 1 (workers killed at random) runs at the
issue's full size, ``NEWSMON_FAULT_KILL_FEEDS`` (default 1,000 feeds, 3,334 stories); the
other scenarios are about one fault at a time and use ``NEWSMON_FAULT_FEEDS`` (default 60).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from storage.db import make_engine
from storage.repository import SqlStore
from tests.feedserver import RunningServer, pub_date, rss
from worker.settings import REPO_ROOT

NEWSMON = str(Path(sys.executable).parent / "newsmon")
FEEDS = int(os.environ.get("NEWSMON_FAULT_FEEDS", "60"))
KILL_FEEDS = int(os.environ.get("NEWSMON_FAULT_KILL_FEEDS", "1000"))
ITEMS_OWN = 3


def publish(server: RunningServer, feeds: int = FEEDS) -> tuple[list[str], int]:
    """Put ``feeds`` feeds on the server; returns their URLs and the number of distinct
    stories among them."""
    urls = []
    for n in range(feeds):
        items = [
            {
                "title": f"Outlet {n} story {i}",
                "link": f"https://o{n}.example/{i}",
                "guid": f"{n}-{i}",
                "pubDate": pub_date(i),
                "description": f"NATO ministers met in Brussels about item {n}-{i}.",
            }
            for i in range(ITEMS_OWN)
        ]
        wire = n // 3
        items.append(
            {
                "title": f"Wire story {wire}",
                "link": f"https://wire.example/{wire}",
                "guid": f"{n}-wire",
                "pubDate": pub_date(0.5),
                "description": f"Russia was criticised over the wire report {wire}.",
            }
        )
        urls.append(server.state.put(f"/f{n}.xml", rss(f"Outlet {n}", items)))
    return urls, feeds * ITEMS_OWN + (feeds + 2) // 3


def environment(database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker, beat or CLI process of the suite.

    Short limits so that recovery happens within a test: the visibility timeout (30 s)
    still exceeds the hard time limit plus the longest countdown, as the settings demand.
    """
    env = dict(os.environ)
    env.pop("NEWSMON_CONFIG", None)
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        NEWSMON_DATABASE_URL=database_url,
        NEWSMON_BROKER_URL=broker_url,
        NEWSMON_ALLOW_PRIVATE_NETWORKS="true",
        NEWSMON_SEEDS_DIR=str(REPO_ROOT / "seeds"),
        NEWSMON_HOST_MIN_SPACING="0",
        NEWSMON_HOST_MAX_CONCURRENCY="64",
        NEWSMON_POLL_INTERVAL_MINUTES="60",
        NEWSMON_SCHEDULER_TICK_SECONDS="1",
        NEWSMON_TASK_SOFT_TIME_LIMIT="15",
        NEWSMON_TASK_TIME_LIMIT="20",
        NEWSMON_TASK_MAX_COUNTDOWN="5",
        NEWSMON_VISIBILITY_TIMEOUT="30",
        NEWSMON_UNACKED_RESTORE_SECONDS="2",
        NEWSMON_POLL_CLAIM_MINUTES="0.5",
        NEWSMON_UNSUBSCRIBE_SECRET="fault-secret-5d1e8c3b9a7f",
        NEWSMON_PUBLIC_URL="https://news.example.org/newsmon",
    )
    env.update(extra)
    return env


class Worker:
    """``newsmon worker`` with the planted faults (or ``newsmon beat``), in its own process
    group."""

    def __init__(
        self, env: dict[str, str], log: Path, concurrency: int = 2, *, beat: bool = False
    ) -> None:
        self.env, self.log, self.concurrency, self.beat = env, log, concurrency, beat
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        command = [
            NEWSMON,
            "worker",
            "--concurrency",
            str(self.concurrency),
            "--loglevel",
            "WARNING",
            "-I",
            "tests.fault_hooks",
            "-n",
            f"fault{self.starts}@%h",
        ]
        if self.beat:
            command = [
                NEWSMON,
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(self.log.with_suffix(".schedule")),
            ]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,
            )

    def supervise(self) -> bool:
        """Start the worker again if it exited (what a restart policy does); True if so."""
        if self.proc is not None and self.proc.poll() is not None:
            self.start()
            return True
        return False

    def children(self) -> list[int]:
        if self.proc is None:
            return []
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(stat.parent.name))
        return out

    def kill_child(self, rng: random.Random) -> bool:
        children = self.children()
        if not children:
            return False
        try:
            os.kill(rng.choice(children), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once (a machine or container dying)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSMON, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


def wait_until(
    done: Callable[[], bool],
    timeout: float,
    *,
    while_waiting: Callable[[], None] = lambda: None,
    step: float = 0.5,
) -> float:
    """Seconds until ``done()``; raises AssertionError after ``timeout``."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not done after {timeout:.0f}s")
        while_waiting()
        time.sleep(step)
    return time.monotonic() - started


class Ledger:
    """Reads the database of a run for progress and for the invariants."""

    def __init__(self, database_url: str) -> None:
        self.store = SqlStore(make_engine(database_url))

    def progress(self) -> tuple[int, int, int]:
        """(feeds polled successfully, articles stored, articles waiting for analysis)."""
        try:
            with self.store.transaction() as repo:
                feeds = repo.list_feeds()
                stored = repo.count_articles()
                pending = len(repo.pending_analysis(limit=100_000))
        except Exception:  # the database may be down in the middle of a fault
            return (-1, -1, -1)
        return sum(1 for f in feeds if f.last_success_at), stored, pending

    def complete(self, feeds: int, stories: int) -> bool:
        polled, stored, pending = self.progress()
        return polled >= feeds and stored >= stories and pending == 0

    def assert_exactly_once(self, stories: int, feeds: int) -> None:
        """Every story stored once, analysed, and seen by each feed that carries it."""
        with self.store.transaction() as repo:
            articles = list(repo.iter_articles())
        assert len(articles) == stories
        urls = [a.url for a in articles]
        assert len(set(urls)) == len(urls), "a story was stored twice"
        assert all(a.analyzed for a in articles), "a stored story has no analysis"
        wire = [a for a in articles if "wire.example" in (a.url or "")]
        assert sum(len(a.feeds) for a in wire) == feeds, "a wire sighting is missing"
        own = [a for a in articles if "wire.example" not in (a.url or "")]
        assert all(len(a.feeds) == 1 for a in own)
        assert all(any(x.name == "NATO" for x in a.actors) for a in own)

    def close(self) -> None:
        self.store.engine.dispose()
