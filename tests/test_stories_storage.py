"""Near-duplicates and stories against real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.models import NewArticle
from feeds.usecases.group import group_pending
from storage.repository import SqlStore
from tests.test_neardup import ARREST, ARREST_FOLLOW_UP, OTHER_ARREST, OTHER_QUAKE, WIRE

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
FOLLOW_UP = (
    "Survivors in Ardmore spent a second night outdoors as aftershocks continued.\n"
    "Governor Maren Olsted said the death toll from the earthquake had risen to fifteen "
    "and that the market hall would be rebuilt. Hospitals in Kessel asked for blood."
)


def _article(feed_id: int, n: int, title: str, text: str, published: datetime) -> NewArticle:
    return NewArticle(
        feed_id=feed_id,
        entry_key=f"guid:{n}",
        url=f"https://outlet{feed_id}.example/{n}",
        canonical_url=f"https://outlet{feed_id}.example/{n}",
        content_hash=f"hash-{n}",
        title=title,
        published=published,
        author=None,
        summary="",
        content=text,
        categories=(),
        seen_at=published + timedelta(minutes=5),
    )


def _add(store: SqlStore, *articles: NewArticle) -> list[int]:
    with store.transaction() as repo:
        feeds = {a.feed_id for a in articles}
        for f in sorted(feeds):
            repo.add_feed(f"https://outlet{f}.example/feed", None, T0)
        return [repo.add_article(a).id for a in articles]


def test_copies_point_at_the_first_and_events_stay_apart(store: SqlStore) -> None:
    ids = _add(
        store,
        _article(1, 1, "Quake kills twelve in Ardmore", WIRE, T0),
        _article(
            2,
            2,
            "Ardmore earthquake: schools destroyed",
            "ARDMORE (Newswire) - " + WIRE,
            T0 + timedelta(hours=1),
        ),
        _article(3, 3, "Ardmore death toll rises", FOLLOW_UP, T0 + timedelta(hours=20)),
        _article(3, 4, "Belmora harbour damaged by quake", OTHER_QUAKE, T0 + timedelta(hours=2)),
        # The same text as the first, a year later: the window keeps it out of that story.
        _article(1, 5, "Ardmore remembers", WIRE + "\nOne year on.", T0 + timedelta(days=365)),
    )
    done = group_pending(store, ids=ids)
    assert [g.article_id for g in done] == ids
    with store.transaction() as repo:
        by_id = {a.id: a for a in repo.iter_articles()}
    first, copy, follow, other, later = (by_id[i] for i in ids)
    assert first.duplicate_of is None and copy.duplicate_of == first.id
    assert copy.story_id == first.story_id == follow.story_id
    assert follow.duplicate_of is None
    assert other.story_id not in (None, first.story_id)
    assert later.story_id not in (first.story_id, other.story_id) and later.duplicate_of is None

    # Idempotent: grouping again changes nothing.
    assert group_pending(store, ids=ids) == []
    assert group_pending(store) == []

    with store.transaction() as repo:
        listed = repo.list_stories(limit=10)
        recent = repo.list_stories(since=T0 + timedelta(days=300), limit=10)
    assert listed[0].id == first.story_id
    assert (listed[0].articles, listed[0].outlets) == (3, 3)
    assert listed[0].title == "Quake kills twelve in Ardmore"
    assert listed[0].first_time == T0 and listed[0].last_time == T0 + timedelta(hours=20)
    assert [s.id for s in recent] == [later.story_id]


def test_sweep_groups_articles_left_ungrouped(store: SqlStore) -> None:
    ids = _add(store, *(_article(1, n, f"Item {n}", f"{WIRE} {n}", T0) for n in range(3)))
    assert len(group_pending(store, limit=2)) == 3
    with store.transaction() as repo:
        assert repo.ungrouped_articles(limit=10) == []
        stored = list(repo.iter_articles(ids=ids))
    roots = {a.duplicate_of or a.id for a in stored}
    assert roots == {ids[0]}


def test_feed_identity_flag_is_recorded_once(store: SqlStore) -> None:
    with store.transaction() as repo:
        feed = repo.add_feed("https://outlet9.example/feed", None, T0)
        assert not repo.guids_broken(feed.id)
        repo.mark_guids_broken(feed.id, "first reason", T0)
        repo.mark_guids_broken(feed.id, "second reason", T0)
    with store.transaction() as repo:
        assert repo.guids_broken(feed.id)


def test_two_arrests_at_the_same_time_stay_two_stories(store: SqlStore) -> None:
    # Same template, same hour, other names: close enough in wording to pass for a copy
    # and in vocabulary for one story; only the names tell them apart.
    ids = _add(
        store,
        _article(1, 1, "Jeweller robbery suspect arrested", ARREST, T0),
        _article(2, 2, "Jeweller robbery suspect arrested", OTHER_ARREST, T0),
        _article(3, 3, "Robbery suspect refused bail", ARREST_FOLLOW_UP, T0 + timedelta(hours=30)),
    )
    group_pending(store, ids=ids)
    with store.transaction() as repo:
        first, other, follow = (a.story_id for a in repo.iter_articles(ids=ids))
    assert None not in (first, other, follow)
    assert other != first and follow == first
    with store.transaction() as repo:
        assert [a.duplicate_of for a in repo.iter_articles(ids=ids)] == [None, None, None]
