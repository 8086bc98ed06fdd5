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
    ActorSentiment,
    ActorType,
    DigestRun,
    DigestStatus,
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
    )


def feed_source(row: Row) -> FeedSource:
    return FeedSource(
        id=row["id"], url=row["url"], etag=row["etag"], last_modified=row["last_modified"]
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
    )
