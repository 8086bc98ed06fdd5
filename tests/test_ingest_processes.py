"""Parsing in worker processes stores exactly what parsing in-process stores.

Real HTTP on loopback, real SQLite: the same feeds polled by a pipeline that prepares
every document itself (``ingest_processes=1``) and by one that hands them to worker
processes (``ingest_processes=2``) must leave the same articles and the same sightings,
wire copies across feeds included (the one writer decides, whichever process prepared a
copy).
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from feeds.usecases.pipeline import _POOL_MIN_FEEDS, PassReport
from storage.tables import ARTICLE, FEED, SIGHTING
from tests.feedserver import RunningServer, pub_date, rss
from tests.support import SettableClock, make_settings
from worker.bootstrap import Container, build_container
from worker.pools.ingest import START_AFTER

FEEDS = max(12, _POOL_MIN_FEEDS + 2)
WIRE_TEXT = (
    "<p>The agency reported that talks on the budget resumed on {day} after a long night, "
    "with ministers from {n} countries in the room and protesters outside.</p>"
)


def _own(feed: int, n: int) -> dict[str, str]:
    return {
        "title": f"Desk {feed} report {n}",
        "link": f"https://desk{feed}.example/news/{n}",
        "guid": f"desk{feed}-{n}",
        "description": f"<p>Desk {feed} files its own story {n} about the markets today.</p>",
        "pubDate": pub_date(n / 24),
    }


def _wire(feed: int, k: int) -> dict[str, str]:
    # Wire story k: even ones under the agency's own link in every feed (one canonical
    # URL), odd ones under each outlet's own link (only the content hash joins them).
    link = (
        f"https://wire.example/story/{k}?utm_source=desk{feed}"
        if k % 2 == 0
        else f"https://desk{feed}.example/wire/{k}"
    )
    return {
        "title": f"Wire story {k}",
        "link": link,
        "guid": f"desk{feed}-wire-{k}",
        "description": WIRE_TEXT.format(day=f"day {k}", n=k + 3),
        "pubDate": pub_date(k / 10),
    }


def _broken_guids(feed: int) -> list[dict[str, str]]:
    # One GUID for different links: the feed's GUIDs are not usable (feeds.dedup.guids).
    return [{**_own(feed, n), "guid": "same-guid"} for n in range(3)]


def _publish(server: RunningServer, generation: int) -> list[str]:
    urls = []
    for f in range(FEEDS):
        items = [_own(f, n) for n in range(6 + generation)] + [_wire(f, k) for k in range(4)]
        if f == 3:
            items = _broken_guids(f) + items
        urls.append(server.state.put(f"/feed{f}.xml", rss(f"Desk {f}", items)))
    urls.append(server.state.put("/broken.xml", "<html><body>not a feed</body></html>"))
    return urls


def _container(db: Path, clock: SettableClock, processes: int) -> Container:
    settings = make_settings(f"sqlite:///{db}", fetch_concurrency=8, ingest_processes=processes)
    return build_container(settings, clock=clock)  # type: ignore[arg-type]


def _stored(c: Container) -> dict[str, Any]:
    with c.store.transaction() as repo:
        session = repo._session  # the test reads whole tables
        articles = session.execute(
            select(
                ARTICLE.c.content_hash,
                ARTICLE.c.title,
                ARTICLE.c.content,
                ARTICLE.c.summary,
                ARTICLE.c.published,
                ARTICLE.c.categories,
            )
        ).all()
        sightings = session.execute(
            select(FEED.c.url, SIGHTING.c.entry_key, ARTICLE.c.content_hash)
            .join(FEED, FEED.c.id == SIGHTING.c.feed_id)
            .join(ARTICLE, ARTICLE.c.id == SIGHTING.c.article_id)
        ).all()
        feeds = session.execute(
            select(
                FEED.c.url,
                FEED.c.title,
                FEED.c.error_count,
                FEED.c.body_hash,
                FEED.c.last_http_status,
            )
        ).all()
    hashes = [row[0] for row in articles]
    assert len(hashes) == len(set(hashes))  # each story stored once
    return {
        "articles": sorted(tuple(r) for r in articles),
        "sightings": sorted(tuple(r) for r in sightings),
        "feeds": sorted(tuple(r) for r in feeds),
    }


def _summary(report: PassReport) -> tuple[int, list[tuple[Any, ...]]]:
    # Which feed's copy of a wire story is inserted first depends on the order fetches
    # complete, in one process as in several: compare the pass's total of new articles.
    return report.new_articles, sorted(
        (r.url, r.status, r.entries, r.error is None) for r in report.feeds
    )


@pytest.mark.parametrize("processes", [2, 3])
def test_worker_processes_store_the_same_as_one_process(
    tmp_path: Path, server: RunningServer, processes: int
) -> None:
    urls = _publish(server, generation=0)
    clock = SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    single = _container(tmp_path / "single.db", clock, 1)
    multi = _container(tmp_path / "multi.db", clock, processes)
    for c in (single, multi):
        with c.store.transaction() as repo:
            for url in urls:
                repo.add_feed(url, None, clock.now())
    try:
        # Started before the pass: a pass steals back what processes still starting have
        # not begun, which would make "some went to the processes" a matter of timing.
        assert multi.pipeline.start_workers() == processes
        reports = [
            c.pipeline.poll_pass(c.pipeline.sources(), analyze=False) for c in (single, multi)
        ]
        assert reports[1].offloaded > 0  # documents did go to other processes
        assert reports[0].offloaded == 0 and single.pipeline.ingest_pool is None
        assert _summary(reports[0]) == _summary(reports[1])
        first = _stored(single)
        assert first == _stored(multi)
        # Each wire story once, with a sighting from every feed that carried it.
        wire = [a for a in first["articles"] if a[1].startswith("Wire story")]
        assert len(wire) == 4
        for article in wire:
            carriers = {s[0] for s in first["sightings"] if s[2] == article[0]}
            assert len(carriers) == FEEDS
        assert reports[0].count("failed") == 1  # the page that is not a feed

        # A later pass: new items in every feed, the rest unchanged or already stored.
        _publish(server, generation=1)
        clock.current += timedelta(hours=2)
        reports = [
            c.pipeline.poll_pass(c.pipeline.sources(), analyze=False) for c in (single, multi)
        ]
        assert _summary(reports[0]) == _summary(reports[1])
        assert reports[1].new_articles == FEEDS  # one new own story per feed
        assert reports[1].offloaded > 0
        assert _stored(single) == _stored(multi)
    finally:
        multi.pipeline.close()
    assert multi.pipeline.ingest_pool is not None
    assert multi.pipeline.ingest_pool.worker_pids() == []  # type: ignore[attr-defined]


def test_a_small_pass_stays_in_process(tmp_path: Path, server: RunningServer) -> None:
    url = server.state.put("/one.xml", rss("One", [_own(1, n) for n in range(3)]))
    clock = SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    c = _container(tmp_path / "one.db", clock, 2)
    with c.store.transaction() as repo:
        repo.add_feed(url, None, clock.now())
    report = c.pipeline.poll_pass(c.pipeline.sources(), analyze=False)
    assert report.new_articles == 3
    assert report.offloaded == 0
    assert c.pipeline.ingest_pool is not None
    # not worth starting processes for one feed
    assert c.pipeline.ingest_pool.worker_pids() == []  # type: ignore[attr-defined]


def test_a_pass_survives_its_worker_processes_dying(tmp_path: Path, server: RunningServer) -> None:
    urls = _publish(server, generation=0)
    clock = SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    single = _container(tmp_path / "single.db", clock, 1)
    multi = _container(tmp_path / "multi.db", clock, 2)
    for c in (single, multi):
        with c.store.transaction() as repo:
            for url in urls:
                repo.add_feed(url, None, clock.now())
    try:
        assert multi.pipeline.start_workers() == 2
        pool = multi.pipeline.ingest_pool
        assert pool is not None
        for pid in pool.worker_pids():  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)  # as by the out-of-memory killer
        reports = [
            c.pipeline.poll_pass(c.pipeline.sources(), analyze=False) for c in (single, multi)
        ]
        # Everything was prepared in the polling process instead, with the same result.
        assert reports[1].offloaded == 0
        assert _summary(reports[0]) == _summary(reports[1])
        assert _stored(single) == _stored(multi)
    finally:
        multi.pipeline.close()


def test_a_celery_workers_container_prepares_in_process(tmp_path: Path) -> None:
    # Celery's prefork children are the worker's processes: a batch task of 8 or more feeds
    # must not start a pool of its own inside each of them, whatever the setting says.
    settings = make_settings(f"sqlite:///{tmp_path / 'celery.db'}", ingest_processes=3)
    c = build_container(settings, celery_worker=True)
    assert c.pipeline.ingest_pool is None
    assert c.pipeline.ingest_processes == 1
    assert build_container(settings).pipeline.ingest_pool is not None


def test_a_pass_starts_the_processes_only_past_a_few_documents(
    tmp_path: Path, server: RunningServer
) -> None:
    # Starting the processes costs about 2 s of CPU: a pass with no more changed feeds than
    # START_AFTER prepares them all here, a larger one starts the processes for the rest.
    urls = _publish(server, generation=0)
    clock = SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    c = _container(tmp_path / "few.db", clock, 2)
    with c.store.transaction() as repo:
        for url in urls:
            repo.add_feed(url, None, clock.now())
    pool = c.pipeline.ingest_pool
    assert pool is not None
    try:
        few = c.pipeline.sources()[:START_AFTER]
        assert len(few) >= _POOL_MIN_FEEDS  # the pass would use the pool, were it larger
        report = c.pipeline.poll_pass(few, analyze=False)
        assert report.count("ok") + report.count("failed") == len(few)
        assert report.offloaded == 0
        assert not pool.running  # type: ignore[attr-defined]

        _publish(server, generation=1)  # every feed changes: more than START_AFTER documents
        clock.current += timedelta(hours=2)
        report = c.pipeline.poll_pass(c.pipeline.sources(), analyze=False)
        assert report.new_articles >= FEEDS
        assert pool.running  # type: ignore[attr-defined]
    finally:
        c.pipeline.close()


def test_two_cpus_get_two_ingest_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from worker import settings

    for cpus, expected in ((1, 1), (2, 2), (3, 2), (4, 3), (16, 4)):
        monkeypatch.setattr(settings.os, "sched_getaffinity", lambda _pid, n=cpus: set(range(n)))
        assert settings._default_ingest_processes() == expected
