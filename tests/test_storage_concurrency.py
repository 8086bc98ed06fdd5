"""Several OS processes writing the same rows at once, on SQLite and PostgreSQL.

This is what embedded mode (scheduler + CLI on one SQLite file) and distributed mode
(several Celery workers on PostgreSQL) do when two feeds carry the same story or a task is
delivered twice. The processes are started with ``spawn`` so each has its own engine and
connections, as real workers would, and wait at a barrier so their writes overlap.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from feeds.models import NewArticle, SubscriptionSpec
from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.repository import SqlStore

PROCESSES = 4
ARTICLES = 300
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
T = TypeVar("T")


def _article(feed_id: int, n: int) -> NewArticle:
    return NewArticle(
        feed_id=feed_id,
        entry_key=f"guid-{n}",
        url=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        content_hash=f"hash-{n:04d}",
        title=f"Story {n}",
        published=T0,
        author=None,
        summary="Summary.",
        content="Text.",
        categories=(),
        seen_at=T0 + timedelta(seconds=n),
    )


# Set in each pool process by _init_worker: a barrier can only reach a child at start-up.
_barrier: Barrier | None = None


def _init_worker(barrier: Barrier) -> None:
    global _barrier
    _barrier = barrier


def _wait_for_the_others() -> None:
    if _barrier is None:
        raise RuntimeError("worker started without a barrier")
    _barrier.wait()


def _insert_articles(url: str, feed_id: int, backwards: bool) -> int:
    """Child process: add every article, one transaction each, as a poller would."""
    engine = make_engine(url)
    try:
        store = SqlStore(engine)
        order = range(ARTICLES - 1, -1, -1) if backwards else range(ARTICLES)
        created = 0
        _wait_for_the_others()
        for n in order:
            with store.transaction() as repo:
                created += repo.add_article(_article(feed_id, n)).created
        return created
    finally:
        engine.dispose()


def _claim_run(url: str, subscription_id: int, worker: int) -> tuple[int, str, bool]:
    """Child process: claim the same digest period, as duplicate deliveries of a task would."""
    engine = make_engine(url)
    try:
        store = SqlStore(engine)
        _wait_for_the_others()
        with store.transaction() as repo:
            run, leased = repo.lease_digest_run(
                subscription_id,
                "2024-05-01",
                f"<m{worker}@newsmon>",
                owner=f"worker-{worker}",
                now=T0,
                lease_until=T0 + timedelta(minutes=10),
            )
        return run.id, run.message_id, leased
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """Four spawned processes shared by this module's tests (spawning is the slow part).

    Each task waits at the barrier, so a worker holds exactly one task of a batch and the
    batch's writes start together.
    """
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES, timeout=240)  # spawning is slow on a loaded machine
    with ProcessPoolExecutor(
        PROCESSES, mp_context=ctx, initializer=_init_worker, initargs=(barrier,)
    ) as executor:
        yield executor


def _run_together(
    pool: ProcessPoolExecutor, target: Callable[..., T], calls: list[tuple[Any, ...]]
) -> list[T]:
    if len(calls) != PROCESSES:
        raise ValueError(f"a batch must have exactly {PROCESSES} calls")
    futures = [pool.submit(target, *args) for args in calls]
    # A child's exception is re-raised here with its traceback attached.
    return [future.result(timeout=120) for future in futures]


def _url_of(store: SqlStore) -> str:
    """The store's URL, password included, for the child processes to connect with."""
    return store.engine.url.render_as_string(hide_password=False)


def test_same_articles_from_four_processes_are_stored_once(
    store: SqlStore, pool: ProcessPoolExecutor
) -> None:
    with store.transaction() as repo:
        feeds = [repo.add_feed(f"https://outlet{i}.example/rss", None, T0).id for i in (1, 2)]
    # Two processes per feed, one of each pair going backwards: they race on the articles
    # and, within a feed, on the sighting keys too.
    url = _url_of(store)
    calls = [(url, feeds[i % 2], i >= 2) for i in range(PROCESSES)]
    created = _run_together(pool, _insert_articles, calls)

    assert sum(created) == ARTICLES
    with store.transaction() as repo:
        assert repo.count_articles() == ARTICLES
        stored = list(repo.iter_articles())
        counts = [f.article_count for f in repo.list_feeds()]
    assert len({a.id for a in stored}) == ARTICLES
    assert all(sorted(f.id for f in a.feeds) == feeds for a in stored)
    assert counts == [ARTICLES, ARTICLES]


def test_digest_period_is_claimed_once_across_processes(
    store: SqlStore, pool: ProcessPoolExecutor
) -> None:
    with store.transaction() as repo:
        sub = repo.add_subscription(SubscriptionSpec(name="daily", emails=("a@b.example",)), T0)
    url = _url_of(store)
    claims = _run_together(pool, _claim_run, [(url, sub.id, worker) for worker in range(PROCESSES)])

    with store.transaction() as repo:
        runs = repo.list_digest_runs(sub.id)
    assert len(runs) == 1
    # Every process got the one run, with the message id of whichever claimed first, and
    # exactly one of them the lease to send it.
    assert {(run_id, message_id) for run_id, message_id, _ in claims} == {
        (runs[0].id, runs[0].message_id)
    }
    assert sum(leased for _, _, leased in claims) == 1


def _upgrade(url: str) -> str | None:
    """Child process: what every newsmon process does at start-up."""
    engine = make_engine(url)
    try:
        _wait_for_the_others()
        upgrade(engine)
        return current_revision(engine)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """A database URL with no schema at all (not even Alembic's version table)."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    server = make_url(request.getfixturevalue("pg_url"))
    name = f"{server.database}_fresh"
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_concurrent_start_ups_migrate_once(empty_db_url: str, pool: ProcessPoolExecutor) -> None:
    revisions = _run_together(pool, _upgrade, [(empty_db_url,)] * PROCESSES)
    assert revisions == [head_revision()] * PROCESSES


# ------------------------------------------------------------ feeds sharing wire stories

WIRE_STORIES = 6


def _outlet_feed(outlet: str) -> bytes:
    """An outlet's feed: the agency's stories under the agency's links, each with the
    outlet's own teaser (so their content hashes differ between outlets), and two of its own."""
    from tests.feedserver import pub_date, rss

    items = [
        {
            "title": f"Ministers meet in Brussels, day {i}",
            "link": f"https://wire.example/{i}",
            "guid": f"{outlet}-wire-{i}",
            "description": f"{outlet} reports: the allies praised the talks, day {i}.",
            "pubDate": pub_date(i / 10),
        }
        for i in range(WIRE_STORIES)
    ] + [
        {
            "title": f"{outlet} local story {i}",
            "link": f"https://{outlet}.example/{i}",
            "guid": f"{outlet}-{i}",
            "description": f"Something happened in the town of {outlet}, part {i}.",
            "pubDate": pub_date(i / 10),
        }
        for i in range(2)
    ]
    return rss(outlet, items).encode()


def _poll_stored(url: str, feed_id: int, outlet: str) -> list[int]:
    """Child process: what a Celery worker's poll does after the fetch (Pipeline.ingest)."""
    from feeds.models import FetchResult
    from feeds.usecases.pipeline import Pipeline
    from tests.support import SettableClock

    engine = make_engine(url)
    try:
        store = SqlStore(engine)
        pipeline = Pipeline(
            store=store,
            fetcher=None,  # type: ignore[arg-type]  # nothing is fetched here
            analyzer=None,  # type: ignore[arg-type]
            clock=SettableClock(T0),
            mailer=None,  # type: ignore[arg-type]
            mail_from="newsmon@example.org",
            message_id_domain="example.org",
        )
        with store.transaction() as repo:
            (source,) = repo.feed_sources(ids=[feed_id])
        fetched = FetchResult(
            "ok", source.url, 200, _outlet_feed(outlet), "application/rss+xml; charset=utf-8"
        )
        _wait_for_the_others()
        # A deadlock would surface here as StorageError (and in Celery as a retry that
        # fetches the feed again).
        report = pipeline.ingest(source, fetched)
        assert report.status == "ok", report
        return list(report.new_article_ids)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_feeds_sharing_wire_stories_are_stored_at_once_without_deadlock(
    empty_pg_url: str, pg_engine: Engine, pool: ProcessPoolExecutor
) -> None:
    """Four workers store four feeds that carry the same wire stories, all at once.

    Every feed orders the wire stories differently by content hash, so inserting in hash
    order deadlocked on the canonical-URL index (tests/test_stages.py saw the retried poll
    fetch its feed twice). A trigger slows every article insert so the four inserts overlap
    on any machine."""
    from feeds.dedup.keys import prepare_feed

    outlets = [f"outlet{n}" for n in range(PROCESSES)]
    hash_orders = set()
    for outlet in outlets:
        prepared = prepare_feed(
            _outlet_feed(outlet), url=None, content_type=None, feed_id=1, seen_at=T0
        )
        assert not isinstance(prepared, Exception)
        by_hash = sorted(prepared.articles, key=lambda a: a.content_hash)
        hash_orders.add(tuple(a.url for a in by_hash if "wire." in (a.url or "")))
    assert len(hash_orders) > 1  # else this test could not tell the orders apart

    store = SqlStore(pg_engine)
    with store.transaction() as repo:
        feeds = [repo.add_feed(f"https://{o}.example/rss", None, T0).id for o in outlets]
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION slow_article_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER slow_article_insert BEFORE INSERT ON article "
            "FOR EACH ROW EXECUTE FUNCTION slow_article_insert()"
        )
    try:
        calls = [(empty_pg_url, feeds[n], outlets[n]) for n in range(PROCESSES)]
        created = _run_together(pool, _poll_stored, calls)
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER slow_article_insert ON article")
            conn.exec_driver_sql("DROP FUNCTION slow_article_insert()")

    assert sum(len(ids) for ids in created) == WIRE_STORIES + 2 * PROCESSES
    with store.transaction() as repo:
        assert repo.count_articles() == WIRE_STORIES + 2 * PROCESSES
        wire = [a for a in repo.iter_articles() if (a.url or "").startswith("https://wire.")]
    assert len(wire) == WIRE_STORIES
    assert all(sorted(f.id for f in a.feeds) == feeds for a in wire)


@pytest.mark.postgres
def test_a_deadlock_is_a_conflict_that_keeps_nothing(empty_pg_url: str, pg_engine: Engine) -> None:
    """Two transactions renaming two feeds in opposite orders: PostgreSQL aborts one. It
    must surface as StorageConflict (which the pipeline runs again) and leave nothing."""
    import threading

    from feeds.errors import StorageConflict
    from storage.tables import FEED

    store = SqlStore(pg_engine)
    with store.transaction() as repo:
        ids = [repo.add_feed(f"https://o{n}.example/rss", None, T0).id for n in (1, 2)]
    both = threading.Barrier(2, timeout=30)
    outcomes: dict[str, BaseException | None] = {}

    def rename(name: str, order: list[int]) -> None:
        try:
            with store.transaction() as repo:
                for n, feed_id in enumerate(order):
                    repo._session.execute(  # noqa: SLF001 -- a raw row lock, on purpose
                        FEED.update().where(FEED.c.id == feed_id).values(title=name)
                    )
                    if n == 0:
                        both.wait()  # each holds its first row before asking for the second
            outcomes[name] = None
        except BaseException as exc:  # noqa: BLE001 -- recorded for the assertions
            outcomes[name] = exc

    threads = [
        threading.Thread(target=rename, args=("forward", ids)),
        threading.Thread(target=rename, args=("backward", ids[::-1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    failed = {k: v for k, v in outcomes.items() if v is not None}
    assert len(outcomes) == 2 and len(failed) == 1, outcomes
    ((loser, error),) = failed.items()
    assert isinstance(error, StorageConflict) and "running it again is safe" in str(error)
    winner = "forward" if loser == "backward" else "backward"
    with store.transaction() as repo:
        assert {f.title for f in repo.list_feeds()} == {winner}
