"""Read models of the dashboard and the JSON API: filters, series and totals.

Frozen values like those of :mod:`feeds.models`, kept apart because only the read side
(:mod:`feeds.usecases.insights`, the web driver) uses them. Every time is aware UTC; a
series point's ``start`` is the first instant of its day or hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from feeds.models import ActorType, Sentiment

__all__ = [
    "ActorPoint",
    "ActorTotal",
    "ArticleFilter",
    "Bucket",
    "CoActor",
    "EvidenceItem",
    "TopicTotal",
    "VolumePoint",
]

Bucket = Literal["day", "hour"]


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which stored articles a listing shows; every field narrows, ``None`` leaves open.

    ``since``/``until`` bound ``first_seen`` (``[since, until)``); ``topic`` is an IPTC
    code or ``user:NAME``; ``actor`` an actor's name as analyses record it; ``ids`` the
    articles a text query matched (an empty tuple matches nothing)."""

    since: datetime | None = None
    until: datetime | None = None
    topic: str | None = None
    actor: str | None = None
    feed_id: int | None = None
    story_id: int | None = None
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class VolumePoint:
    """Articles first seen in one bucket."""

    start: datetime
    articles: int


@dataclass(frozen=True, slots=True)
class ActorPoint:
    """One bucket of an actor's coverage: articles that mention it, and their sentiment.

    ``mean`` is the mean of the articles' scores toward the actor (-1..1)."""

    start: datetime
    articles: int
    mean: float
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True, slots=True)
class ActorTotal:
    """An actor's coverage over a window (the actors list, the "who moved" ranking)."""

    name: str
    type: ActorType
    articles: int
    mean: float
    negative: int
    neutral: int
    positive: int
    watched: bool


@dataclass(frozen=True, slots=True)
class CoActor:
    """Another actor named in the same articles, with how many of them."""

    name: str
    articles: int


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One article's reading of an actor, with the sentences that show it."""

    article_id: int
    title: str
    url: str | None
    first_seen: datetime
    sentiment: Sentiment
    score: float
    sentences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicTotal:
    """Articles classified under one topic code in a window."""

    code: str
    label: str
    articles: int
