"""Near-duplicates and stories against real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.errors import NotFound
from feeds.models import (
    ActorSentiment,
    AnalysisResult,
    NewArticle,
    StoryMember,
)
from feeds.usecases.group import group_pending
from feeds.usecases.stories import story_detail
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


def add_story_with_actors(store: SqlStore) -> tuple[int, list[int]]:
    """A story of three articles from two outlets, analysed: the first article and a
    follow-up in a titled feed, a copy of the first in an untitled one; and, apart, an
    article about another quake. Returns the story's id and the four article ids."""
    with store.transaction() as repo:
        gazette = repo.add_feed("https://outlet1.example/feed", "Ardmore Gazette", T0).id
        wire = repo.add_feed("https://outlet2.example/feed", None, T0).id
        ids = [
            repo.add_article(a).id
            for a in (
                _article(gazette, 1, "Quake kills twelve in Ardmore", WIRE, T0),
                _article(
                    wire,
                    2,
                    "Ardmore earthquake: schools destroyed",
                    "ARDMORE (Newswire) - " + WIRE,
                    T0 + timedelta(hours=1),
                ),
                _article(
                    gazette, 3, "Ardmore death toll rises", FOLLOW_UP, T0 + timedelta(hours=20)
                ),
                _article(wire, 4, "Belmora harbour damaged by quake", OTHER_QUAKE, T0),
            )
        ]
    group_pending(store, ids=ids)
    olsted = "Maren Olsted"
    readings = {
        ids[0]: (ActorSentiment(olsted, "person", "negative", -0.6, ("She said.",), 2),),
        # The copy's readings must not count: it repeats the first article's words.
        ids[1]: (
            ActorSentiment(olsted, "person", "positive", 0.9, (), 1),
            ActorSentiment("Kessel", "other", "positive", 0.5, (), 1),
        ),
        ids[2]: (
            ActorSentiment(olsted, "person", "positive", 0.2, (), 1),
            ActorSentiment("Kessel", "other", "negative", -0.4, (), 1),
        ),
        ids[3]: (ActorSentiment("Lisk", "other", "negative", -0.8, (), 1),),
    }
    with store.transaction() as repo:
        for article_id, actors in readings.items():
            repo.save_analysis(article_id, AnalysisResult(actors=actors), T0 + timedelta(days=1))
        story_id = repo.story_of(ids[0])
    assert story_id is not None
    return story_id, ids


def test_story_detail_has_outlets_timeline_and_actors(store: SqlStore) -> None:
    story_id, ids = add_story_with_actors(store)
    detail = story_detail(store, story_id)
    with store.transaction() as repo:
        listed = {s.id: s for s in repo.list_stories(limit=10)}
    # The same summary (title, size, outlets, span) as `stories list` shows.
    assert detail.summary == listed[story_id]
    assert (detail.summary.articles, detail.summary.outlets) == (3, 2)
    assert detail.summary.title == "Quake kills twelve in Ardmore"
    assert [(o.name, o.url, o.articles) for o in detail.outlets] == [
        ("Ardmore Gazette", "https://outlet1.example/feed", 2),
        ("outlet2.example", "https://outlet2.example/feed", 1),  # untitled: its host
    ]
    assert detail.timeline == (
        StoryMember(
            ids[0],
            T0,
            ("Ardmore Gazette",),
            "Quake kills twelve in Ardmore",
            "https://outlet1.example/1",
            None,
        ),
        StoryMember(
            ids[1],
            T0 + timedelta(hours=1),
            ("outlet2.example",),
            "Ardmore earthquake: schools destroyed",
            "https://outlet2.example/2",
            ids[0],
        ),
        StoryMember(
            ids[2],
            T0 + timedelta(hours=20),
            ("Ardmore Gazette",),
            "Ardmore death toll rises",
            "https://outlet1.example/3",
            None,
        ),
    )
    # Mean and counts over the first article and the follow-up; the copy is left out.
    assert [
        (x.name, x.type, x.mentions, round(x.mean_sentiment, 4), x.negative, x.neutral, x.positive)
        for x in detail.actors
    ] == [("Maren Olsted", "person", 2, -0.2, 1, 0, 1), ("Kessel", "other", 1, -0.4, 1, 0, 0)]


def test_story_detail_of_an_unknown_id_is_not_found(store: SqlStore) -> None:
    story_id, _ = add_story_with_actors(store)
    with pytest.raises(NotFound, match=f"no story with id {story_id + 100} "):
        story_detail(store, story_id + 100)
