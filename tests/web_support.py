"""A small monitored world for the web tests, and the real `newsmon web` server on it.

:func:`fill` stores feeds, articles, analyses and stories through the repository (the
same writes the pipeline makes); :class:`WebServer` runs ``newsmon web`` as its own
process on a free loopback port, as a user would, and waits for ``/healthz``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from feeds.models import (
    ActorSentiment,
    AnalysisResult,
    FetchOutcome,
    NewArticle,
    SubscriptionSpec,
    TopicScore,
)
from feeds.usecases.group import group_pending
from storage.repository import SqlStore

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
TOKEN = "web-test-token-0123456789abcdef"
SECRET = "unsubscribe-secret-for-web-tests-7f3a"
CONFLICT = TopicScore("medtop:16000000", "conflict, war and peace", 0.9)
POLITICS = TopicScore("medtop:11000000", "politics", 0.6)
SPORT = TopicScore("medtop:15000000", "sport", 0.95)

QUAKE = (
    "A magnitude 6.1 earthquake struck Ardmore on Tuesday, killing twelve people and "
    "destroying the market hall. Governor Maren Olsted said rescue teams were searching "
    "the rubble through the night."
)


@dataclass(frozen=True)
class World:
    now: datetime
    feed_ids: tuple[int, ...]
    article_ids: tuple[int, ...]
    story_id: int  # the Ardmore earthquake's story (three outlets)
    subscription_id: int
    emails: tuple[str, ...]


def _actor(name: str, score: float, evidence: str = "") -> ActorSentiment:
    sentiment = "negative" if score < -0.05 else "positive" if score > 0.05 else "neutral"
    return ActorSentiment(
        name=name,
        type="country",
        sentiment=sentiment,
        score=score,
        evidence=(evidence,) if evidence else (),
        mentions=1,
        watched=True,
    )


def _article(feed: int, n: int, title: str, text: str, seen: datetime) -> NewArticle:
    return NewArticle(
        feed_id=feed,
        entry_key=f"guid:{n}",
        url=f"https://outlet{feed}.example/{n}",
        canonical_url=f"https://outlet{feed}.example/{n}",
        content_hash=f"hash-{n}",
        title=title,
        published=seen - timedelta(minutes=30),
        author=None,
        summary=text[:200],
        content=text,
        categories=(),
        seen_at=seen,
    )


# (hours before now, feed, title, text, topics, actors with scores)
PLAN: list[tuple[float, int, str, str, tuple[TopicScore, ...], tuple[tuple[str, float], ...]]] = [
    # Nordland: a quiet week, then a busy and hostile last day.
    (
        150,
        1,
        "Nordland trade talks open",
        "Nordland and Sudmark met.",
        (POLITICS,),
        (("Nordland", 0.3), ("Sudmark", 0.2)),
    ),
    (
        100,
        2,
        "Nordland wins praise for reforms",
        "Observers praised Nordland.",
        (POLITICS,),
        (("Nordland", 0.3),),
    ),
    (
        120,
        2,
        "Nordland budget passes",
        "The Nordland parliament passed a budget.",
        (POLITICS,),
        (("Nordland", 0.2),),
    ),
    (
        10,
        1,
        "Nordland shells border town",
        "Nordland artillery hit Kessel.",
        (CONFLICT,),
        (("Nordland", -0.8), ("Sudmark", 0.1)),
    ),
    (
        8,
        2,
        "Sudmark condemns Nordland attack",
        "Sudmark condemned Nordland.",
        (CONFLICT, POLITICS),
        (("Nordland", -0.7), ("Sudmark", 0.0)),
    ),
    (
        6,
        3,
        "Nordland troops cross river",
        "Nordland forces advanced.",
        (CONFLICT,),
        (("Nordland", -0.9),),
    ),
    (
        4,
        1,
        "Nordland accused of strikes on grid",
        "Officials accused Nordland.",
        (CONFLICT,),
        (("Nordland", -0.6), ("Sudmark", -0.1)),
    ),
    (30, 3, "Cup final ends in a draw", "The final ended 2-2 after extra time.", (SPORT,), ()),
    # One event, three outlets: a story.
    (20, 1, "Quake kills twelve in Ardmore", QUAKE, (CONFLICT,), ()),
    (
        19,
        2,
        "Ardmore earthquake: market hall destroyed",
        "ARDMORE (Wire) - " + QUAKE,
        (CONFLICT,),
        (),
    ),
    (18, 3, "Ardmore quake toll at twelve", QUAKE + " Aftershocks continued.", (CONFLICT,), ()),
    # Hostile text that must come out escaped.
    (
        2,
        3,
        "<script>alert('title')</script> & <b>bold</b> claims",
        "Escaping test body.",
        (POLITICS,),
        (("Sudmark", -0.4),),
    ),
]


def fill(store: SqlStore, now: datetime) -> World:
    """Store :data:`PLAN` (times relative to ``now``), analyse and group it."""
    with store.transaction() as repo:
        feeds = [
            repo.add_feed(f"https://outlet{i}.example/feed.xml", f"Outlet {i}", now).id
            for i in (1, 2, 3)
        ]
        broken = repo.add_feed("https://broken.example/feed.xml", "Broken Outlet", now).id
        repo.record_fetch(
            FetchOutcome(
                feed_id=broken,
                fetched_at=now - timedelta(hours=1),
                next_fetch_at=now + timedelta(hours=1),
                ok=False,
                http_status=500,
                error="HTTP 500 from https://broken.example/feed.xml",
                health="failing",
            )
        )
    ids = []
    for n, (hours, feed, title, text, _, _) in enumerate(PLAN, start=1):
        seen = now - timedelta(hours=hours)
        with store.transaction() as repo:
            ids.append(repo.add_article(_article(feeds[feed - 1], n, title, text, seen)).id)
    for article_id, (_, _, _, _, topics, actors) in zip(ids, PLAN, strict=True):
        evidence = "Officials said <img src=x onerror=alert(1)> it was an attack."
        result = AnalysisResult(
            topics=topics,
            actors=tuple(
                _actor(name, score, evidence if score < -0.5 else "") for name, score in actors
            ),
        )
        with store.transaction() as repo:
            repo.save_analysis(article_id, result, now)
    group_pending(store, ids=ids)
    emails = ("ana@example.org", "ben@example.org")
    with store.transaction() as repo:
        quake = repo.story_of(ids[[p[2] for p in PLAN].index("Quake kills twelve in Ardmore")])
        sub = repo.add_subscription(SubscriptionSpec(name="morning", emails=emails), now)
    assert quake is not None
    return World(now, tuple(feeds) + (broken,), tuple(ids), quake, sub.id, emails)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebServer:
    """``newsmon web`` in its own process on a free loopback port."""

    def __init__(
        self,
        database_url: str,
        tmp: Path,
        *,
        token: str | None = TOKEN,
        secret: str | None = SECRET,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "NEWSMON_DATABASE_URL": database_url,
            "NEWSMON_PUBLIC_URL": "https://news.example",
            "HOME": str(tmp),
        }
        env.pop("NEWSMON_WEB_TOKEN", None)
        env.pop("NEWSMON_UNSUBSCRIBE_SECRET", None)
        if secret:
            env["NEWSMON_UNSUBSCRIBE_SECRET"] = secret
        if token:
            env["NEWSMON_WEB_TOKEN"] = token
        self.log = tmp / f"web-{self.port}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [NEWSMON, "web", "--port", str(self.port)],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"newsmon web exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"newsmon web did not answer: {self.log.read_text()}")

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
