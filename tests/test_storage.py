"""The SQL storage adapter, against real SQLite files and a real PostgreSQL server.

Every test taking ``store`` runs twice, once per database (see ``tests/conftest.py``).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select

from feeds.errors import AlreadyExists, ConfigError, NotFound, StorageError
from feeds.models import (
    ActorSentiment,
    AnalysisResult,
    DigestRun,
    FetchOutcome,
    NewArticle,
    SubscriptionSpec,
    TopicScore,
)
from storage.db import make_engine
from storage.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
from storage.repository import SqlStore
from storage.repository import base as repo_base
from storage.tables import SIGHTING, metadata

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def article(
    feed_id: int,
    key: str,
    *,
    canonical: str | None = None,
    content_hash: str | None = None,
    seen_at: datetime = T0,
    title: str = "A story",
) -> NewArticle:
    return NewArticle(
        feed_id=feed_id,
        entry_key=key,
        url=canonical,
        canonical_url=canonical,
        content_hash=content_hash or f"hash-{key}",
        title=title,
        published=seen_at - timedelta(hours=1),
        author="Reporter",
        summary="Summary.",
        content="Full text.",
        categories=("politics", "world"),
        seen_at=seen_at,
    )


def add_feeds(store: SqlStore, *urls: str) -> list[int]:
    with store.transaction() as repo:
        return [repo.add_feed(url, None, T0).id for url in urls]


def ok_outcome(feed_id: int, at: datetime, **kwargs: object) -> FetchOutcome:
    return FetchOutcome(
        feed_id=feed_id,
        fetched_at=at,
        next_fetch_at=at + timedelta(minutes=30),
        ok=True,
        http_status=kwargs.pop("http_status", 200),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- engine, migrations


def test_sqlite_engine_creates_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "newsmon.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_url_uses_psycopg(pg_url: str) -> None:
    assert pg_url.startswith("postgresql://")
    engine = make_engine(pg_url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
    finally:
        engine.dispose()


def test_unreachable_postgres_is_a_readable_storage_error() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    with pytest.raises(StorageError) as info:
        make_engine("postgresql://newsmon:s3cret@127.0.0.1:1/newsmon")
    message = str(info.value)
    assert "s3cret" not in message
    assert "postgresql+psycopg://newsmon:***@127.0.0.1:1/newsmon" in message
    assert "check that the server is running" in message
    assert "\n" not in message


def test_unsupported_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database URL"):
        make_engine("mysql://root@localhost/newsmon")


def test_sqlite_migrations_run_and_are_idempotent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision() is not None
        upgrade(engine)  # a second start-up changes nothing
        assert current_revision(engine) == head_revision()
        assert _schema_drift(engine) == []
    finally:
        engine.dispose()


def test_written_out_head_is_the_scripts_head() -> None:
    # a new migration must move HEAD_REVISION too, or every start-up would take the full path
    assert HEAD_REVISION == head_revision()


def test_start_up_on_a_database_at_head_does_not_load_alembic(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    code = (
        "import sys\n"
        "from storage.db import make_engine\n"
        "from storage.migrate import upgrade\n"
        f"upgrade(make_engine({sqlite_url!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.postgres
def test_postgres_migrations_are_idempotent_and_match_tables(pg_engine: Engine) -> None:
    assert current_revision(pg_engine) == head_revision()
    upgrade(pg_engine)
    assert current_revision(pg_engine) == head_revision()
    assert _schema_drift(pg_engine) == []


def _not_search_index(name: str | None, type_: str, parent: object) -> bool:
    return not (name or "").startswith(("article_search", "ix_article_search"))


def _schema_drift(engine: Engine) -> list[object]:
    """Differences between the migrated schema and the table classes (should be none)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            # The text index differs by database (FTS5 / tsvector) and is not declared in
            # the table classes; see storage/repository/search.py.
            opts={"compare_type": True, "include_name": _not_search_index},
        )
        return list(compare_metadata(context, metadata))


# --------------------------------------------------------------------------- feeds


def test_add_get_list_feeds(store: SqlStore) -> None:
    with store.transaction() as repo:
        first = repo.add_feed("https://a.example/rss", "Outlet A", T0)
        second = repo.add_feed("https://b.example/rss", "", T0)
    assert first.title == "Outlet A"
    assert second.title is None  # empty titles are not a name
    assert first.created_at == T0
    assert (first.paused, first.error_count, first.article_count) == (False, 0, 0)
    assert first.next_fetch_at is None  # due at once
    with store.transaction() as repo:
        assert repo.get_feed(second.id) == second
        assert [f.url for f in repo.list_feeds()] == [
            "https://a.example/rss",
            "https://b.example/rss",
        ]


def test_duplicate_feed_url_is_already_exists(store: SqlStore) -> None:
    (feed_id,) = add_feeds(store, "https://a.example/rss")
    with pytest.raises(AlreadyExists) as info, store.transaction() as repo:
        repo.add_feed("https://a.example/rss", None, T0)
    assert str(info.value) == f"a feed with url https://a.example/rss already exists (id {feed_id})"
    with store.transaction() as repo:
        assert len(repo.list_feeds()) == 1


def test_missing_feed_is_not_found(store: SqlStore) -> None:
    expected = "no feed with id 7 (see `newsmon feeds list`)"
    with store.transaction() as repo:
        for call in (
            lambda: repo.get_feed(7),
            lambda: repo.remove_feed(7),
            lambda: repo.set_feed_paused(7, True),
            lambda: repo.record_fetch(ok_outcome(7, T0)),
        ):
            with pytest.raises(NotFound) as info:
                call()
            assert str(info.value) == expected


def test_feed_sources_skip_paused_and_respect_due_time(store: SqlStore) -> None:
    a, b, c = add_feeds(store, "https://a.example/", "https://b.example/", "https://c.example/")
    with store.transaction() as repo:
        repo.record_fetch(ok_outcome(a, T0))  # next fetch at T0 + 30 min
        repo.set_feed_paused(c, True)
    with store.transaction() as repo:
        assert [s.id for s in repo.feed_sources()] == [a, b]
        assert [s.id for s in repo.feed_sources(due_before=T0 + timedelta(minutes=5))] == [b]
        assert [s.id for s in repo.feed_sources(due_before=T0 + timedelta(minutes=30))] == [a, b]
        assert [s.id for s in repo.feed_sources(ids=[c, b, b])] == [b]
        repo.set_feed_paused(c, False)
        assert [s.id for s in repo.feed_sources(ids=[c])] == [c]


def test_record_fetch_success_failure_and_304(store: SqlStore) -> None:
    (feed_id,) = add_feeds(store, "https://a.example/rss")
    with store.transaction() as repo:
        repo.record_fetch(
            ok_outcome(
                feed_id,
                T0,
                etag='"v1"',
                last_modified="Wed, 01 May 2024 07:00:00 GMT",
                title="Outlet A",
                site_url="https://a.example/",
            )
        )
        source = repo.feed_sources(ids=[feed_id])[0]
        assert (source.etag, source.last_modified) == ('"v1"', "Wed, 01 May 2024 07:00:00 GMT")

        later = T0 + timedelta(hours=1)
        repo.record_fetch(
            FetchOutcome(
                feed_id=feed_id,
                fetched_at=later,
                next_fetch_at=later + timedelta(hours=1),
                ok=False,
                http_status=503,
                error="HTTP 503 from https://a.example/rss",
            )
        )
        repo.record_fetch(
            FetchOutcome(
                feed_id=feed_id,
                fetched_at=later,
                next_fetch_at=later + timedelta(hours=2),
                ok=False,
                error="timed out",
            )
        )
        failing = repo.get_feed(feed_id)
        assert failing.error_count == 2
        assert failing.last_error == "timed out"
        assert failing.last_success_at == T0
        assert failing.next_fetch_at == later + timedelta(hours=2)

        # A 304 that does not resend the validators keeps the stored ones; a feed title
        # never overwrites a name that is already there.
        last = T0 + timedelta(hours=3)
        repo.record_fetch(ok_outcome(feed_id, last, http_status=304, title="Renamed"))
        feed = repo.get_feed(feed_id)
    assert (feed.etag, feed.last_modified) == ('"v1"', "Wed, 01 May 2024 07:00:00 GMT")
    assert (feed.error_count, feed.last_error) == (0, None)
    assert feed.last_fetch_at == feed.last_success_at == last
    assert feed.next_fetch_at == last + timedelta(minutes=30)
    assert (feed.title, feed.site_url) == ("Outlet A", "https://a.example/")


def test_remove_feed_keeps_articles_and_drops_sightings(store: SqlStore) -> None:
    a, b = add_feeds(store, "https://a.example/", "https://b.example/")
    with store.transaction() as repo:
        shared = repo.add_article(article(a, "a-1", canonical="https://news.example/1")).id
        repo.add_article(article(b, "b-1", canonical="https://news.example/1"))
        only_a = repo.add_article(article(a, "a-2", canonical="https://news.example/2")).id
    with store.transaction() as repo:
        repo.remove_feed(a)
        assert [f.id for f in repo.list_feeds()] == [b]
        assert repo.count_articles() == 2
        feeds_of = {s.id: [f.id for f in s.feeds] for s in repo.iter_articles()}
    assert feeds_of == {shared: [b], only_a: []}


# --------------------------------------------------------------------------- articles


def test_same_article_from_two_feeds_is_stored_once(store: SqlStore) -> None:
    a, b = add_feeds(store, "https://a.example/", "https://b.example/")
    with store.transaction() as repo:
        first = repo.add_article(article(a, "guid-a", canonical="https://news.example/1"))
        # Same canonical URL, different per-feed key and hash: the same article.
        second = repo.add_article(
            article(
                b,
                "guid-b",
                canonical="https://news.example/1",
                content_hash="other",
                seen_at=T0 + timedelta(minutes=5),
            )
        )
        # No canonical URL but the same content hash: also the same article.
        third = repo.add_article(article(b, "guid-c", content_hash="hash-guid-a"))
    assert first.created and not second.created and not third.created
    assert first.id == second.id == third.id
    with store.transaction() as repo:
        assert repo.count_articles() == 1
        (stored,) = list(repo.iter_articles())
        feeds = {f.id: f.url for f in repo.list_feeds()}
        counts = {f.id: f.article_count for f in repo.list_feeds()}
    assert [(f.id, f.url) for f in stored.feeds] == [(a, feeds[a]), (b, feeds[b])]
    assert stored.first_seen == T0  # the first sighting decides
    assert stored.url == "https://news.example/1"
    assert stored.published == T0 - timedelta(hours=1)
    assert counts == {a: 1, b: 1}  # b sighted it twice, it is still one article


def test_reseen_entry_updates_only_last_seen(store: SqlStore) -> None:
    (feed_id,) = add_feeds(store, "https://a.example/")
    later = T0 + timedelta(hours=2)
    with store.transaction() as repo:
        first = repo.add_article(article(feed_id, "guid-1", canonical="https://news.example/1"))
        again = repo.add_article(
            article(feed_id, "guid-1", canonical="https://news.example/1", seen_at=later)
        )
    assert (first.id, first.created) == (again.id, True)
    assert not again.created
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(SIGHTING.c.article_id, SIGHTING.c.first_seen, SIGHTING.c.last_seen)
        ).all()
    assert [tuple(r) for r in rows] == [(first.id, T0, later)]


def test_known_entry_keys(store: SqlStore) -> None:
    a, b = add_feeds(store, "https://a.example/", "https://b.example/")
    with store.transaction() as repo:
        repo.add_article(article(a, "k1"))
        repo.add_article(article(a, "k2"))
        repo.add_article(article(b, "k3"))
        assert repo.known_entry_keys(a, ["k1", "k3", "k9", "k1"]) == {"k1"}
        assert repo.known_entry_keys(b, ["k3"]) == {"k3"}
        assert repo.known_entry_keys(a, []) == set()


def test_datetimes_are_utc_whatever_offset_goes_in(store: SqlStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    with store.transaction() as repo:
        created_at = datetime(2024, 5, 1, 10, 0, tzinfo=plus_two)
        feed = repo.add_feed("https://a.example/", None, created_at)
        assert feed.created_at == T0
        assert feed.created_at.tzinfo is UTC
    with pytest.raises(ValueError, match="naive datetime"), store.transaction() as repo:
        repo.add_feed("https://b.example/", None, datetime(2024, 5, 1, 8, 0))


def test_analysis_is_replaced_and_read_back(store: SqlStore) -> None:
    (feed_id,) = add_feeds(store, "https://a.example/")
    with store.transaction() as repo:
        first = repo.add_article(article(feed_id, "k1")).id
        second = repo.add_article(article(feed_id, "k2")).id
        pending = repo.pending_analysis()
        assert [(p.id, p.text) for p in pending] == [(first, "Full text."), (second, "Full text.")]
        assert [p.id for p in repo.pending_analysis(limit=1)] == [first]
        assert [p.id for p in repo.pending_analysis(ids=[second, 999])] == [second]

        result = AnalysisResult(
            topics=(
                TopicScore("medtop:11000000", "politics", 0.4),
                TopicScore("medtop:04000000", "economy", 0.9),
            ),
            actors=(
                ActorSentiment("France", "country", "negative", -0.5, ("France failed.",), 1),
                ActorSentiment("ACME", "organisation", "positive", 0.6, ("ACME won", "x"), 3),
                ActorSentiment("ACME", "organisation", "neutral", 0.0, (), 9),  # repeat: dropped
            ),
        )
        repo.save_analysis(first, result, T0)
        repo.save_analysis(first, result, T0 + timedelta(minutes=1))  # idempotent
        assert [p.id for p in repo.pending_analysis()] == [second]
        repo.save_analysis(second, AnalysisResult(), T0)

        by_id = {a.id: a for a in repo.iter_articles()}
        with pytest.raises(NotFound, match="no article with id 999"):
            repo.save_analysis(999, result, T0)
    analysed = by_id[first]
    assert analysed.analyzed
    assert [t.label for t in analysed.topics] == ["economy", "politics"]  # best first
    assert analysed.actors == (
        ActorSentiment("ACME", "organisation", "positive", 0.6, ("ACME won", "x"), 3),
        ActorSentiment("France", "country", "negative", -0.5, ("France failed.",), 1),
    )
    assert by_id[second].analyzed
    assert (by_id[second].topics, by_id[second].actors) == ((), ())


def test_iter_articles_window_ids_and_pages(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    (feed_id,) = add_feeds(store, "https://a.example/")
    # Several articles share a first_seen so pages must break ties by id.
    times = [T0, T0, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    with store.transaction() as repo:
        ids = [
            repo.add_article(article(feed_id, f"k{i}", seen_at=t)).id for i, t in enumerate(times)
        ]
    monkeypatch.setattr(repo_base, "PAGE_SIZE", 2)
    with store.transaction(readonly=True) as repo:
        assert [a.id for a in repo.iter_articles()] == ids
        window = repo.iter_articles(since=T0 + timedelta(minutes=1), until=T0 + timedelta(hours=2))
        assert [a.id for a in window] == ids[3:5]
        assert [a.id for a in repo.iter_articles(ids=[ids[5], ids[0], 12345])] == [ids[0], ids[5]]
        assert [a.id for a in repo.iter_articles(ids=[])] == []
        assert all(a.feeds and a.feeds[0].id == feed_id for a in repo.iter_articles())


def test_transaction_rolls_back_on_error(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as repo:
        repo.add_feed("https://a.example/", None, T0)
        raise RuntimeError("boom")
    with store.transaction() as repo:
        assert repo.list_feeds() == []


def test_database_errors_become_storage_errors(store: SqlStore) -> None:
    # A sighting for a feed that does not exist violates a foreign key.
    with pytest.raises(StorageError, match="cannot use the database at") as info:
        with store.transaction() as repo:
            repo.add_article(article(424242, "k1"))
    assert not isinstance(info.value, NotFound)
    with store.transaction() as repo:
        assert repo.count_articles() == 0


# --------------------------------------------------------------------------- subscriptions


SPEC = SubscriptionSpec(
    name="morning",
    emails=("ana@example.org", "bo@example.org"),
    schedule="weekly",
    at="07:30",
    tz="Europe/Paris",
    weekday=2,
    topics=("medtop:11000000",),
    actors=("France",),
)


def test_subscriptions_round_trip(store: SqlStore) -> None:
    with store.transaction() as repo:
        created = repo.add_subscription(SPEC, T0)
        other = repo.add_subscription(SubscriptionSpec(name="all", emails=("c@example.org",)), T0)
        assert created.spec == SPEC
        assert (created.name, created.paused, created.created_at) == ("morning", False, T0)
        assert repo.get_subscription("morning") == created
        assert repo.list_subscriptions() == [other, created]  # by name
        with pytest.raises(AlreadyExists, match="a subscription named 'morning' already exists"):
            repo.add_subscription(SPEC, T0)
        repo.remove_subscription("all")
        assert [s.name for s in repo.list_subscriptions()] == ["morning"]
        with pytest.raises(NotFound) as info:
            repo.get_subscription("all")
        assert str(info.value) == "no subscription named 'all' (see `newsmon subscriptions list`)"
        with pytest.raises(NotFound):
            repo.remove_subscription("all")


def test_digest_runs_are_leased_once_per_period(store: SqlStore) -> None:
    def lease(key: str, message_id: str, owner: str, now: datetime = T0) -> tuple[DigestRun, bool]:
        return repo.lease_digest_run(
            sub.id,
            key,
            message_id,
            owner=owner,
            now=now,
            lease_until=now + timedelta(minutes=10),
            respect_backoff=False,
        )

    with store.transaction() as repo:
        sub = repo.add_subscription(SPEC, T0)
        run, leased = lease("2024-W18", "<m1@newsmon>", "a")
        assert leased
        assert (run.status, run.message_id, run.article_count) == ("pending", "<m1@newsmon>", 0)
        # A second sender gets the same run, with the first message id, and no lease.
        again, leased = lease("2024-W18", "<m2@newsmon>", "b")
        assert (again.id, again.message_id, leased) == (run.id, "<m1@newsmon>", False)

        repo.mark_digest_failed(run.id, "SMTP refused")
        later = T0 + timedelta(minutes=11)  # the first lease has expired
        failed, leased = lease("2024-W18", "<m3@newsmon>", "b", later)
        assert leased
        assert (failed.id, failed.status, failed.error) == (run.id, "failed", "SMTP refused")

        sent_at = T0 + timedelta(minutes=12)
        repo.mark_digest_sent(run.id, sent_at, 12)
        done, leased = lease("2024-W18", "<m4@newsmon>", "c", T0 + timedelta(hours=1))
        assert (done.status, leased) == ("sent", False)

        next_week, leased = lease("2024-W19", "<m5@newsmon>", "a")
        assert leased and next_week.id != run.id
        runs = repo.list_digest_runs(sub.id)
        assert [(r.period_key, r.status) for r in runs] == [
            ("2024-W18", "sent"),
            ("2024-W19", "pending"),
        ]
        assert (runs[0].sent_at, runs[0].article_count, runs[0].error) == (sent_at, 12, None)
        assert repo.list_digest_runs() == runs

        with pytest.raises(NotFound, match="no digest run with id 999"):
            repo.mark_digest_sent(999, sent_at, 1)
        with pytest.raises(NotFound, match="no digest run with id 999"):
            repo.mark_digest_failed(999, "x")
        with pytest.raises(NotFound, match="no subscription with id 999"):
            repo.lease_digest_run(
                999, "2024-W18", "<m6@newsmon>", owner="a", now=T0, lease_until=T0
            )

        repo.remove_subscription(SPEC.name)
        assert repo.list_digest_runs() == []


def test_store_satisfies_the_port(store: SqlStore) -> None:
    # The ports are Protocols; check every Repository method exists with a body here too.
    from feeds.ports import Repository

    with store.transaction() as repo:
        missing = [
            name
            for name in dir(Repository)
            if not name.startswith("_") and not callable(getattr(repo, name, None))
        ]
        assert missing == []
        assert repo.count_articles() == 0
