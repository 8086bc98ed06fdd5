"""Rows in, frozen dataclasses out — the only place that knows both shapes.

Values read from the database are narrowed to the ``Literal`` types of
:mod:`feeds.models` here; a value outside them means the data was written by something
other than this code, and is reported as :class:`feeds.errors.StorageError` instead of
being passed on silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from feeds.errors import StorageError
from feeds.models import (
    ActorMention,
    ActorSentiment,
    ActorType,
    DigestRun,
    DigestStatus,
    FeedHealth,
    FeedInfo,
    FeedRef,
    FeedSource,
    Schedule,
    Sentiment,
    Subscription,
    SubscriptionSpec,
    TopicScore,
    WatchedActor,
)
from storage.coltypes import load_strings

Row = Mapping[str, Any]


def _narrow(value: object, literal: Any, what: str) -> Any:
    """``value`` if it is one of the ``Literal`` type's values, else a StorageError."""
    if value not in get_args(literal):
        raise StorageError(f"unexpected {what} {value!r} in the database")
    return value


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
