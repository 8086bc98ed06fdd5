"""Rows in, frozen dataclasses out — the only place that knows both shapes.

Values read from the database are narrowed to the ``Literal`` types of
:mod:`feeds.models` here; a value outside them means the data was written by something
other than this code, and is reported as :class:`feeds.errors.StorageError` instead of
being passed on silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, get_args

from feeds.dedup.stories import StoryCandidate
from feeds.errors import StorageError
from feeds.models import (
    ActorMention,
    ActorSentiment,
    ActorType,
    ArticleForAnalysis,
    ArticleForGrouping,
    DigestRun,
    DigestStatus,
    DuplicateCandidate,
    FeedHealth,
    FeedInfo,
    FeedRef,
    FeedSource,
    Schedule,
    Sentiment,
    StoredArticle,
    StorySummary,
    Subscription,
    SubscriptionSpec,
    TopicScore,
    WatchedActor,
)
from feeds.reports import (
    ActorPoint,
    ActorTotal,
    CoActor,
    EvidenceItem,
    TopicTotal,
    VolumePoint,
)
from feeds.user_topics import SearchDoc, UserTopic
from storage.coltypes import load_strings

Row = Mapping[str, Any]


def _narrow(value: object, literal: Any, what: str) -> Any:
    """``value`` if it is one of the ``Literal`` type's values, else a StorageError."""
    if value not in get_args(literal):
        raise StorageError(f"unexpected {what} {value!r} in the database")
    return value


def article_text(row: Row) -> str:
    """What is read of an article: its content, else its summary."""
    text: str = row["content"] or row["summary"]
    return text


def feed_info(row: Row, article_count: int = 0) -> FeedInfo:
    return FeedInfo(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        site_url=row["site_url"],
        paused=bool(row["paused"]),
        created_at=row["created_at"],
        last_fetch_at=row["last_fetch_at"],
        last_success_at=row["last_success_at"],
        last_error=row["last_error"],
        error_count=row["error_count"],
        next_fetch_at=row["next_fetch_at"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        article_count=article_count,
        health=_narrow(row["health"], FeedHealth, "feed health"),
        interval_seconds=row["interval_seconds"],
        failure_score=float(row["failure_score"]),
        last_http_status=row["last_http_status"],
        full_text=bool(row["full_text"]),
    )


def feed_source(row: Row) -> FeedSource:
    return FeedSource(
        id=row["id"],
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        interval_seconds=row["interval_seconds"],
        failure_score=float(row["failure_score"]),
        error_count=row["error_count"],
        body_hash=row["body_hash"],
        redirect_url=row["redirect_url"],
        redirect_count=row["redirect_count"],
        full_text=bool(row["full_text"]),
    )


def feed_ref(row: Row) -> FeedRef:
    return FeedRef(id=row["feed_id"], url=row["url"], title=row["title"])


def topic(row: Row) -> TopicScore:
    return TopicScore(code=row["code"], label=row["label"], score=float(row["score"]))


def actor(row: Row) -> ActorSentiment:
    return ActorSentiment(
        name=row["name"],
        type=_narrow(row["type"], ActorType, "actor type"),
        sentiment=_narrow(row["sentiment"], Sentiment, "sentiment"),
        score=float(row["score"]),
        evidence=load_strings(row["evidence"]),
        mentions=row["mentions"],
        watched=bool(row["watched"]),
    )


def watched_actor(row: Row) -> WatchedActor:
    return WatchedActor(
        name=row["name"],
        type=_narrow(row["type"], ActorType, "actor type"),
        aliases=load_strings(row["aliases"]),
        hidden=bool(row["hidden"]),
        created_at=row["created_at"],
    )


def subscription(row: Row) -> Subscription:
    spec = SubscriptionSpec(
        name=row["name"],
        emails=load_strings(row["emails"]),
        schedule=_narrow(row["schedule"], Schedule, "schedule"),
        at=row["at"],
        tz=row["tz"],
        weekday=row["weekday"],
        topics=load_strings(row["topics"]),
        actors=load_strings(row["actors"]),
        queries=load_strings(row["queries"]),
        sentiments=tuple(
            _narrow(s, Sentiment, "sentiment") for s in load_strings(row["sentiments"])
        ),
        outlets=load_strings(row["outlets"]),
        spike_alerts=bool(row["spike_alerts"]),
    )
    return Subscription(
        id=row["id"], spec=spec, paused=bool(row["paused"]), created_at=row["created_at"]
    )


def digest_run(row: Row) -> DigestRun:
    return DigestRun(
        id=row["id"],
        subscription_id=row["subscription_id"],
        period_key=row["period_key"],
        status=_narrow(row["status"], DigestStatus, "digest status"),
        message_id=row["message_id"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        article_count=row["article_count"],
        error=row["error"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        lease_expires_at=row["lease_expires_at"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        delivered=load_strings(row["delivered"]),
    )


def actor_mention(row: Row) -> ActorMention:
    return ActorMention(
        article_id=row["article_id"],
        story_id=row["story_id"],
        name=row["name"],
        sentiment=_narrow(row["sentiment"], Sentiment, "sentiment"),
        score=float(row["score"]),
        first_seen=row["first_seen"],
        evidence=load_strings(row["evidence"]),
    )


def stored_article(
    row: Row,
    *,
    feeds: tuple[FeedRef, ...],
    topics: tuple[TopicScore, ...],
    actors: tuple[ActorSentiment, ...],
) -> StoredArticle:
    """An ``article`` row with the feeds, topics and actors read for its page."""
    return StoredArticle(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        published=row["published"],
        first_seen=row["first_seen"],
        summary=row["summary"],
        feeds=feeds,
        topics=topics,
        actors=actors,
        analyzed=row["analyzed_at"] is not None,
        story_id=row["story_id"],
        duplicate_of=row["duplicate_of"],
    )


def article_for_analysis(row: Row) -> ArticleForAnalysis:
    return ArticleForAnalysis(
        id=row["id"],
        title=row["title"],
        text=article_text(row),
        author=row["author"],
        url=row["url"],
    )


def article_for_grouping(row: Row) -> ArticleForGrouping:
    return ArticleForGrouping(
        id=row["id"],
        title=row["title"],
        text=article_text(row),
        published=row["published"],
        first_seen=row["first_seen"],
    )


def duplicate_candidate(row: Row) -> DuplicateCandidate:
    return DuplicateCandidate(
        id=row["id"],
        text=article_text(row),
        story_id=row["story_id"],
        duplicate_of=row["duplicate_of"],
        shared_bands=int(row["shared"]),
    )


def story_candidate(row: Row, signature: dict[str, float]) -> StoryCandidate:
    return StoryCandidate(
        id=row["id"],
        first_time=row["first_time"],
        last_time=row["last_time"],
        signature=signature,
    )


def story_summary(row: Row, title: str, outlets: int) -> StorySummary:
    return StorySummary(
        id=row["id"],
        title=title,
        articles=row["size"],
        outlets=outlets,
        first_time=row["first_time"],
        last_time=row["last_time"],
    )


def user_topic(row: Row) -> UserTopic:
    return UserTopic(row["name"], row["query"], row["created_at"])


def search_doc(row: Row) -> SearchDoc:
    return SearchDoc(
        id=row["id"],
        title=row["title"],
        text=article_text(row),
        author=row["author"],
        url=row["url"],
        first_seen=row["first_seen"],
    )


# ------------------------------------------------------------------ read models (reports)


def bucket_start(key: str | float) -> datetime:
    """The UTC start of a series bucket from its key (what :mod:`storage.repository.reports`
    groups by): epoch seconds, or the text ``YYYY-MM-DD`` or ``YYYY-MM-DD HH``."""
    if not isinstance(key, str):
        return datetime.fromtimestamp(int(key), UTC)
    if len(key) == 10:
        return datetime.fromisoformat(key).replace(tzinfo=UTC)
    return datetime.fromisoformat(f"{key[:10]}T{key[11:13]}:00").replace(tzinfo=UTC)


def volume_point(row: Row) -> VolumePoint:
    return VolumePoint(start=bucket_start(row["bucket"]), articles=int(row["articles"]))


def actor_point(row: Row) -> ActorPoint:
    return ActorPoint(
        start=bucket_start(row["bucket"]),
        articles=int(row["articles"]),
        mean=round(float(row["mean"] or 0.0), 4),
        negative=int(row["negative"] or 0),
        neutral=int(row["neutral"] or 0),
        positive=int(row["positive"] or 0),
    )


def actor_total(row: Row) -> ActorTotal:
    return ActorTotal(
        name=row["name"],
        type=_narrow(row["type"], ActorType, "actor type"),
        articles=int(row["articles"]),
        mean=round(float(row["mean"] or 0.0), 4),
        negative=int(row["negative"] or 0),
        neutral=int(row["neutral"] or 0),
        positive=int(row["positive"] or 0),
        watched=bool(row["watched"]),
    )


def co_actor(row: Row) -> CoActor:
    return CoActor(name=row["name"], articles=int(row["articles"]))


def evidence_item(row: Row) -> EvidenceItem:
    return EvidenceItem(
        article_id=row["article_id"],
        title=row["title"],
        url=row["url"],
        first_seen=row["first_seen"],
        sentiment=_narrow(row["sentiment"], Sentiment, "sentiment"),
        score=float(row["score"]),
        sentences=load_strings(row["evidence"]),
    )


def topic_total(row: Row) -> TopicTotal:
    return TopicTotal(code=row["code"], label=row["label"], articles=int(row["articles"]))
