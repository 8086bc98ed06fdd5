"""Scheduling state, redirect adoption, claims and tombstones in storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta

from feeds.models import FetchOutcome, NewArticle
from storage.repository import SqlStore

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def article(feed_id: int, n: int, *, url: str | None = None) -> NewArticle:
    return NewArticle(
        feed_id=feed_id,
        entry_key=f"guid-{n}",
        url=url or f"https://a.example/{n}",
        canonical_url=url or f"https://a.example/{n}",
        content_hash=f"hash-{n}",
        title=f"Story {n}",
        published=None,
        author=None,
        summary="s",
        content="c",
        categories=(),
        seen_at=T0,
    )


def outcome(feed_id: int, **kw: object) -> FetchOutcome:
    values: dict[str, object] = {
        "feed_id": feed_id,
        "fetched_at": T0,
        "next_fetch_at": T0 + timedelta(minutes=15),
        "ok": True,
        "http_status": 200,
    }
    values.update(kw)
    return FetchOutcome(**values)  # type: ignore[arg-type]


def test_schedule_state_round_trips(store: SqlStore) -> None:
    with store.transaction() as repo:
        feed_id = repo.add_feed("https://a.example/feed", None, T0).id
        repo.record_fetch(
            outcome(
                feed_id,
                interval_seconds=900,
                failure_score=0.5,
                health="flaky",
                body_hash="ab" * 32,
                redirect_url="https://b.example/feed",
                redirect_count=2,
            )
        )
        source = repo.feed_sources(ids=[feed_id])[0]
        info = repo.get_feed(feed_id)
    assert (source.interval_seconds, source.failure_score, source.body_hash) == (
        900,
        0.5,
        "ab" * 32,
    )
    assert (source.redirect_url, source.redirect_count) == ("https://b.example/feed", 2)
    assert (info.health, info.interval_seconds, info.last_http_status) == ("flaky", 900, 200)

    with store.transaction() as repo:  # None leaves the columns alone
        repo.record_fetch(outcome(feed_id, ok=False, http_status=500, error="HTTP 500"))
        again = repo.feed_sources(ids=[feed_id])[0]
    assert again.interval_seconds == 900 and again.error_count == 1
    assert again.redirect_url == "https://b.example/feed"


def test_gone_feeds_are_not_due_until_resumed(store: SqlStore) -> None:
    with store.transaction() as repo:
        gone = repo.add_feed("https://gone.example/feed", None, T0).id
        live = repo.add_feed("https://live.example/feed", None, T0).id
        repo.record_fetch(outcome(gone, ok=False, http_status=410, health="gone", error="410"))
        repo.record_fetch(outcome(live))
        later = T0 + timedelta(days=2)
        assert [s.id for s in repo.feed_sources(due_before=later)] == [live]
        assert [s.id for s in repo.feed_sources()] == [live]
        assert [s.id for s in repo.feed_sources(ids=[gone])] == [gone]  # asked for by id
        repo.set_feed_paused(gone, False)
        assert repo.get_feed(gone).health == "failing"
        assert {s.id for s in repo.feed_sources(due_before=later)} == {gone, live}


def test_redirect_adoption_and_conflict(store: SqlStore) -> None:
    with store.transaction() as repo:
        a = repo.add_feed("https://a.example/feed", None, T0).id
        b = repo.add_feed("https://b.example/feed", None, T0).id
        repo.record_fetch(outcome(a, new_url="https://a2.example/feed", redirect_count=0))
        repo.record_fetch(outcome(b, new_url="https://a2.example/feed", redirect_count=0))
        assert repo.get_feed(a).url == "https://a2.example/feed"
        assert repo.get_feed(b).url == "https://b.example/feed"  # taken: keeps its own


def test_postpone_and_full_text(store: SqlStore) -> None:
    with store.transaction() as repo:
        feed_id = repo.add_feed("https://a.example/feed", None, T0).id
        repo.postpone_feeds([feed_id], T0 + timedelta(minutes=10))
        assert repo.feed_sources(due_before=T0) == []
        repo.set_feed_full_text(feed_id, True)
        assert repo.get_feed(feed_id).full_text and repo.feed_sources()[0].full_text


def test_prune_leaves_tombstones_that_block_reingest(store: SqlStore) -> None:
    with store.transaction() as repo:
        feed_id = repo.add_feed("https://a.example/feed", None, T0).id
        for n in range(3):
            repo.add_article(article(feed_id, n))
    with store.transaction() as repo:
        assert repo.prune_articles(T0 + timedelta(seconds=1), T0 + timedelta(days=30)) == 3
        assert repo.count_articles() == 0
        assert repo.count_tombstones() == 9  # url, hash and entry key of each
        # The same entries, and the same story under another feed's key or URL, are dead.
        other = repo.add_feed("https://b.example/feed", None, T0).id
        moved = article(other, 1)  # same URL and hash, another feed's entry key
        assert repo.tombstoned([article(feed_id, 0), moved, article(feed_id, 7)]) == {
            "guid-0",
            "guid-1",
        }
        # Pruning again finds nothing and adds nothing.
        assert repo.prune_articles(T0 + timedelta(seconds=1), T0) == 0
        assert repo.count_tombstones() == 9


def test_recording_many_fetches_at_once_equals_recording_each(store: SqlStore) -> None:
    shapes: list[dict[str, object]] = [
        {"http_status": 304, "interval_seconds": 900, "failure_score": 0.0, "health": "ok"},
        {"http_status": 304, "interval_seconds": 1800, "failure_score": 0.0, "health": "ok"},
        {
            "http_status": 200,
            "etag": '"v2"',
            "last_modified": "Fri, 27 Nov 2026 06:00:00 GMT",
            "body_hash": "cd" * 32,
        },
        {"ok": False, "http_status": 503, "error": "HTTP 503", "health": "flaky"},  # expression
        {"title": "Named by the feed", "site_url": "https://a.example/"},  # coalesce
    ]
    with store.transaction() as repo:
        each = [repo.add_feed(f"https://each.example/{n}", None, T0).id for n in range(5)]
        many = [repo.add_feed(f"https://many.example/{n}", None, T0).id for n in range(5)]
        gone = repo.add_feed("https://gone.example/feed", None, T0).id
        repo.remove_feed(gone)
        for feed_id, shape in zip(each, shapes, strict=True):
            repo.record_fetch(outcome(feed_id, **shape))
        repo.record_fetches(
            [outcome(feed_id, **shape) for feed_id, shape in zip(many, shapes, strict=True)]
            + [outcome(gone)]  # removed meanwhile: skipped
        )
        found = repo.feed_sources(ids=each + many) + [repo.get_feed(i) for i in each + many]

    def state(x: object) -> tuple[object, ...]:
        assert is_dataclass(x) and not isinstance(x, type)
        return tuple(v for k, v in asdict(x).items() if k not in {"id", "url"})

    pairs = list(zip(found[:5], found[5:10], strict=True))
    pairs += list(zip(found[10:15], found[15:], strict=True))
    assert all(state(a) == state(b) for a, b in pairs)
    infos = found[15:]
    assert infos[3].error_count == 1 and infos[4].title == "Named by the feed"  # type: ignore[attr-defined]
    assert infos[0].last_http_status == 304  # type: ignore[attr-defined]
