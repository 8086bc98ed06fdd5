"""Reading what was stored: the largest stories (``newsmon stories list``), one story in
full (``newsmon stories show``), the articles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feeds.dedup.stories import event_time
from feeds.digest.compose import mentions_from_articles
from feeds.digest.select import outlet_name
from feeds.models import (
    ActorMention,
    ActorType,
    StoredArticle,
    StoryActor,
    StoryDetail,
    StoryMember,
    StoryOutlet,
    StorySummary,
)
from feeds.ports import Store


def largest_stories(store: Store, *, since: datetime | None, limit: int) -> list[StorySummary]:
    with store.transaction(readonly=True) as repo:
        return repo.list_stories(since=since, limit=limit)


def story_detail(store: Store, story_id: int) -> StoryDetail:
    """Everything ``stories show`` prints; :class:`feeds.errors.NotFound` for an unknown id."""
    with store.transaction(readonly=True) as repo:
        summary = repo.get_story(story_id)
        # Read through the export's path, so feeds and actors are the ones export shows.
        members = list(repo.iter_articles(ids=repo.story_article_ids(story_id)))
    return describe_story(summary, members)


def largest_stories_in_full(
    store: Store, *, since: datetime | None, limit: int
) -> list[StoryDetail]:
    """The largest stories with their outlets, timelines and actors (the web API's list)."""
    with store.transaction(readonly=True) as repo:
        summaries = repo.list_stories(since=since, limit=limit)
        return [
            describe_story(s, list(repo.iter_articles(ids=repo.story_article_ids(s.id))))
            for s in summaries
        ]


def describe_story(summary: StorySummary, members: Sequence[StoredArticle]) -> StoryDetail:
    """The story's outlets, timeline and actors from its stored articles (pure)."""
    timeline = sorted(
        (
            StoryMember(
                article_id=a.id,
                time=event_time(a.published, a.first_seen),
                outlets=tuple(dict.fromkeys(outlet_name(f) for f in a.feeds)),
                title=a.title,
                url=a.url,
                duplicate_of=a.duplicate_of,
            )
            for a in members
        ),
        key=lambda m: (m.time, m.article_id),
    )
    return StoryDetail(
        summary=summary,
        outlets=_outlets(members),
        timeline=tuple(timeline),
        actors=_actors(members),
    )


def _outlets(members: Sequence[StoredArticle]) -> tuple[StoryOutlet, ...]:
    counts: dict[int, int] = {}
    named: dict[int, StoryOutlet] = {}
    for article in members:
        for feed in article.feeds:
            counts[feed.id] = counts.get(feed.id, 0) + 1
            named.setdefault(feed.id, StoryOutlet(feed.id, outlet_name(feed), feed.url, 0))
    outlets = [
        StoryOutlet(o.feed_id, o.name, o.url, counts[feed_id]) for feed_id, o in named.items()
    ]
    outlets.sort(key=lambda o: (-o.articles, o.name.casefold(), o.feed_id))
    return tuple(outlets)


def _actors(members: Sequence[StoredArticle]) -> tuple[StoryActor, ...]:
    # The digest's reading of mentions: copies are left out, as a syndicated text repeats
    # its original's words and would count the same reading twice.
    by_name: dict[str, list[ActorMention]] = {}
    for mention in mentions_from_articles(members):
        by_name.setdefault(mention.name.casefold(), []).append(mention)
    types: dict[str, ActorType] = {}
    for article in members:
        for actor in article.actors:
            # The earliest article's type, should two analyses disagree.
            types.setdefault(actor.name.casefold(), actor.type)
    actors = []
    for key, mentions in by_name.items():
        # One reading per article: the analysis may store two spellings of one name.
        first: dict[int, ActorMention] = {}
        for m in mentions:
            first.setdefault(m.article_id, m)
        per_article = list(first.values())
        actors.append(
            StoryActor(
                name=mentions[0].name,
                type=types[key],
                mentions=len(per_article),
                mean_sentiment=sum(m.score for m in per_article) / len(per_article),
                negative=sum(1 for m in per_article if m.sentiment == "negative"),
                neutral=sum(1 for m in per_article if m.sentiment == "neutral"),
                positive=sum(1 for m in per_article if m.sentiment == "positive"),
            )
        )
    actors.sort(key=lambda x: (-x.mentions, x.name.casefold()))
    return tuple(actors)


def stored_articles(store: Store, *, since: datetime | None = None) -> list[StoredArticle]:
    """Every stored article first seen since ``since`` (all if None), oldest first."""
    with store.transaction(readonly=True) as repo:
        return list(repo.iter_articles(since=since))
