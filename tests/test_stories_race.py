"""Two worker processes grouping copies of the same story at the same moment (PostgreSQL).

Each process is a separate interpreter (``spawn``) with its own container, as two Celery
workers would be. Each polls its own feed -- both feeds carry copies of the same agency
story -- and then both analyse at once (they wait at a barrier in between), so both look
for candidates before either has committed. The story-index lock must make the outcome
the same as one after the other: one story per event, one first copy, the rest pointing
at it.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import Engine

from tests.conftest import _empty_postgres
from tests.feedserver import RunningServer, pub_date, rss
from tests.support import make_settings
from tests.test_neardup import OTHER_QUAKE, WIRE
from tests.test_stories_storage import FOLLOW_UP

STRIKE = (
    "Dock workers at the port of Halvard walked out at midnight in a dispute over night "
    "shifts, leaving container ships waiting in the estuary.\n"
    "The Halvard stevedores' union said the strike would last forty-eight hours unless the "
    "port authority withdrew its new rota, and pickets gathered at the north gate.\n"
    "Freight companies warned that supermarket deliveries across the region could be "
    "delayed by the end of the week."
)

_barrier: Barrier | None = None


def _init(barrier: Barrier) -> None:
    global _barrier
    _barrier = barrier


def _worker(database_url: str, feed_id: int) -> list[int]:
    """Child process: poll one feed, wait for the other worker, then analyse and group."""
    from worker.bootstrap import build_container

    container = build_container(make_settings(database_url), migrate=False)
    try:
        report = container.pipeline.poll_feed(feed_id)
        if _barrier is None:
            raise RuntimeError("worker started without a barrier")
        _barrier.wait(timeout=60)
        container.pipeline.analyze_pending(ids=list(report.new_article_ids))
        return list(report.new_article_ids)
    finally:
        container.close()


def _item(key: str, title: str, text: str, hours_ago: float) -> dict[str, str]:
    body = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return {
        "title": title,
        "link": f"https://{key}.example/story",
        "guid": key,
        "description": body,
        "pubDate": pub_date(hours_ago / 24),
    }


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_end_with_one_story_and_correct_duplicates(
    pg_url: str, pg_engine: Engine
) -> None:
    _empty_postgres(pg_engine)
    lines = WIRE.split("\n")
    server = RunningServer()
    try:
        feed_a = rss(
            "Outlet A",
            [
                _item("a-wire", "Quake kills twelve in Ardmore", WIRE, 3),
                _item("a-belmora", "Belmora harbour damaged", OTHER_QUAKE, 5),
                _item("a-strike", "Halvard dockers strike", STRIKE, 2),
            ],
        )
        feed_b = rss(
            "Outlet B",
            [
                _item("b-wire", "Ardmore: schools destroyed", "ARDMORE (Newswire) - " + WIRE, 3),
                _item("b-cut", "Twelve dead in Ardmore", "\n".join(lines[:2] + lines[3:]), 2),
                _item("b-belmora", "Quake in Belmora", "LISK (Newswire) - " + OTHER_QUAKE, 4),
                _item("b-follow", "Ardmore death toll rises", FOLLOW_UP, 1),
            ],
        )
        urls = [server.state.put("/a.xml", feed_a), server.state.put("/b.xml", feed_b)]
        from worker.bootstrap import build_container

        parent = build_container(make_settings(pg_url), migrate=False)
        try:
            with parent.store.transaction() as repo:
                feed_ids = [
                    repo.add_feed(url, None, parent.pipeline.clock.now()).id for url in urls
                ]
            ctx = multiprocessing.get_context("spawn")
            barrier = ctx.Barrier(2)
            with ProcessPoolExecutor(
                2, mp_context=ctx, initializer=_init, initargs=(barrier,)
            ) as pool:
                futures = [pool.submit(_worker, pg_url, feed_id) for feed_id in feed_ids]
                new_ids = [f.result(timeout=120) for f in futures]
            assert [len(ids) for ids in new_ids] == [3, 4]
            with parent.store.transaction() as repo:
                stored = {
                    (a.url or "").split("//")[1].split(".")[0]: a for a in repo.iter_articles()
                }
                stories = repo.list_stories(limit=10)
        finally:
            parent.close()
    finally:
        server.close()

    assert all(a.story_id is not None for a in stored.values())
    ardmore = [stored[k] for k in ("a-wire", "b-wire", "b-cut", "b-follow")]
    belmora = [stored[k] for k in ("a-belmora", "b-belmora")]
    assert len({a.story_id for a in ardmore}) == 1
    assert len({a.story_id for a in belmora}) == 1
    distinct = {ardmore[0].story_id, belmora[0].story_id, stored["a-strike"].story_id}
    assert len(distinct) == 3
    # Exactly one first copy per text; every other copy points straight at it.
    wire = ardmore[:3]
    roots = [a for a in wire if a.duplicate_of is None]
    assert len(roots) == 1
    assert sorted(a.duplicate_of for a in wire if a.duplicate_of) == [roots[0].id] * 2
    assert stored["b-follow"].duplicate_of is None
    assert sum(a.duplicate_of is not None for a in belmora) == 1
    assert stored["a-strike"].duplicate_of is None
    sizes = Counter({s.id: s.articles for s in stories})
    assert sizes[ardmore[0].story_id] == 4 and sizes[belmora[0].story_id] == 2
    assert {s.id: s.outlets for s in stories}[ardmore[0].story_id] == 2
