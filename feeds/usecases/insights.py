"""What the dashboard and the JSON API show: listings, the overview, an actor, a topic.

Read-only use cases over :class:`feeds.ports.ReportRepository`. Each one is bounded: a
window in days and a row limit, both capped here (:data:`MAX_LIMIT`, :data:`MAX_DAYS`),
so no request can ask the database for everything.

Design decisions:

* **Cursors are opaque.** A page's cursor is the ``(first_seen, id)`` of its last article,
  base64-encoded; clients pass it back and never build one. A cursor that does not decode
  is an :class:`InvalidInput` (a 400), not an empty page.
* **A text query narrows by ids.** ``q`` in the monitoring query language runs through the
  same matcher as user topics (:mod:`feeds.user_topics`), within the listing's window, and
  the newest :data:`MAX_QUERY_MATCHES` matches become an id filter. It reads at most the
  newest :data:`MAX_QUERY_CANDIDATES` articles holding its words.
* **Who moved.** An actor *moved* when its last day differs from its previous week: its
  volume against its daily average (a ratio, on a log scale) or its mean sentiment (a
  difference). :func:`movers` ranks by ``|log2 ratio| + 2·|shift|`` among actors with at
  least :data:`MOVER_MIN_ARTICLES` articles in the last day, so one article cannot top it.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from feeds import user_topics
from feeds.errors import InvalidInput, NotFound
from feeds.models import DigestRun, FeedInfo, StoredArticle, StorySummary
from feeds.ports import ReportRepository, Store
from feeds.reports import (
    ActorPoint,
    ActorTotal,
    ArticleFilter,
    Bucket,
    CoActor,
    EvidenceItem,
    TopicTotal,
    VolumePoint,
)

__all__ = [
    "MAX_DAYS",
    "MAX_LIMIT",
    "ActorReport",
    "ArticlePage",
    "Mover",
    "Overview",
    "TopicReport",
    "actor_report",
    "actors",
    "decode_cursor",
    "encode_cursor",
    "get_article",
    "list_articles",
    "movers",
    "overview",
    "recent_digests",
    "story_evidence",
    "topic_report",
    "topics",
]

MAX_LIMIT = 200
MAX_DAYS = 366
MAX_QUERY_MATCHES = 2000
# A query reads at most this many candidate articles (the newest holding its words; every
# article, for a query with no word that must be present): its memory and time are bounded.
MAX_QUERY_CANDIDATES = 5000
MOVER_MIN_ARTICLES = 3
# An hourly series over more than this many days is refused: it would be thousands of
# points no chart can show.
MAX_HOURLY_DAYS = 31


@dataclass(frozen=True, slots=True)
class ArticlePage:
    articles: tuple[StoredArticle, ...]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, slots=True)
class Mover:
    """An actor whose last day differs from its previous week."""

    total: ActorTotal  # the last day
    baseline_daily: float  # articles a day over the previous week
    baseline_mean: float | None  # mean sentiment over the previous week, None without any
    volume_ratio: float  # (last day + 1) / (daily average + 1)
    sentiment_shift: float  # last day's mean minus the week's (0 without a baseline)
    movement: float


@dataclass(frozen=True, slots=True)
class Overview:
    since: datetime
    until: datetime
    articles: int
    volume: tuple[VolumePoint, ...]  # hourly over the last two days
    daily: tuple[VolumePoint, ...]  # daily over the window
    stories: tuple[StorySummary, ...]
    movers: tuple[Mover, ...]
    topics: tuple[TopicTotal, ...]
    failing_feeds: tuple[FeedInfo, ...]


@dataclass(frozen=True, slots=True)
class ActorReport:
    name: str
    since: datetime
    until: datetime
    bucket: Bucket
    total: ActorTotal | None  # None when the window holds no mention
    series: tuple[ActorPoint, ...]
    evidence: tuple[EvidenceItem, ...]
    co_actors: tuple[CoActor, ...]


@dataclass(frozen=True, slots=True)
class TopicReport:
    code: str
    label: str
    since: datetime
    until: datetime
    bucket: Bucket
    articles: int
    series: tuple[VolumePoint, ...]
    latest: tuple[StoredArticle, ...]


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def window(now: datetime, days: float) -> tuple[datetime, datetime]:
    """``[now - days, now)``; :class:`InvalidInput` outside 0 < days <= MAX_DAYS."""
    if not 0 < days <= MAX_DAYS:
        raise InvalidInput(f"days must be more than 0 and at most {MAX_DAYS}, not {days}")
    return now - timedelta(days=days), now


# ------------------------------------------------------------------ articles


def encode_cursor(article: StoredArticle) -> str:
    raw = f"{article.first_seen.astimezone(UTC).isoformat()}|{article.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        when, _, ident = raw.partition("|")
        seen = datetime.fromisoformat(when)
        if seen.tzinfo is None or not 0 < int(ident) < 2**31:
            raise ValueError("not ours")
        return seen.astimezone(UTC), int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidInput("cursor is not one this API returned; start again without it") from None


def list_articles(
    store: Store,
    where: ArticleFilter,
    *,
    query: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> ArticlePage:
    """One page of stored articles, newest first, and the cursor of the next page."""
    check_limit(limit)
    after = decode_cursor(cursor) if cursor else None
    # A query refreshes the text index first: a write, so not a read-only transaction.
    with store.transaction(readonly=not query) as repo:
        if query:
            node = user_topics.check_query(query)
            hits = user_topics.search(repo, node, where.since, newest=MAX_QUERY_CANDIDATES)
            newest = sorted(hits, key=lambda h: h.doc.id, reverse=True)[:MAX_QUERY_MATCHES]
            where = replace(where, ids=tuple(h.doc.id for h in newest))
        # One row more than asked tells whether there is a next page.
        found = repo.find_articles(where, after=after, limit=limit + 1)
    page = tuple(found[:limit])
    more = len(found) > limit
    return ArticlePage(page, encode_cursor(page[-1]) if more and page else None)


def get_article(store: Store, article_id: int) -> StoredArticle:
    with store.transaction(readonly=True) as repo:
        found = repo.find_articles(ArticleFilter(ids=(article_id,)), after=None, limit=1)
    if not found:
        raise NotFound(f"no article with id {article_id}")
    return found[0]


def story_evidence(
    store: Store, story_id: int, *, per_actor: int = 2
) -> list[tuple[str, EvidenceItem]]:
    """Evidence sentences of a story's articles, actor by actor (most mentioned first), at
    most ``per_actor`` each, the strongest readings first (what the story page quotes)."""
    with store.transaction(readonly=True) as repo:
        members = list(repo.iter_articles(ids=repo.story_article_ids(story_id)))
    readings: dict[str, list[EvidenceItem]] = {}
    for article in members:
        if article.duplicate_of is not None:
            continue  # a copy repeats its original's sentences
        for actor in article.actors:
            if actor.evidence:
                readings.setdefault(actor.name, []).append(
                    EvidenceItem(
                        article.id,
                        article.title,
                        article.url,
                        article.first_seen,
                        actor.sentiment,
                        actor.score,
                        actor.evidence[:1],
                    )
                )
    ranked = sorted(readings.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        (name, item)
        for name, items in ranked
        for item in sorted(items, key=lambda e: -abs(e.score))[:per_actor]
    ]


# ------------------------------------------------------------------ overview


def overview(store: Store, now: datetime, *, days: float = 7, limit: int = 10) -> Overview:
    """The dashboard's first page: volume, top stories, movers, topics, failing feeds."""
    check_limit(limit)
    since, until = window(now, days)
    with store.transaction(readonly=True) as repo:
        hourly = repo.article_volume(max(since, now - timedelta(days=2)), until, "hour")
        daily = repo.article_volume(since, until, "day")
        stories = repo.list_stories(since=since, limit=limit)
        topic_totals = repo.topic_totals(since, until)
        failing = repo.feed_problems(limit)
        moved = _movers(repo, now, limit)
    return Overview(
        since=since,
        until=until,
        articles=sum(p.articles for p in daily),
        volume=dense_volume(hourly, max(since, now - timedelta(days=2)), until, "hour"),
        daily=dense_volume(daily, since, until, "day"),
        stories=tuple(stories),
        movers=tuple(moved),
        topics=tuple(topic_totals),
        failing_feeds=tuple(failing),
    )


def movers(store: Store, now: datetime, *, limit: int = 10) -> list[Mover]:
    check_limit(limit)
    with store.transaction(readonly=True) as repo:
        return _movers(repo, now, limit)


def _movers(reports: ReportRepository, now: datetime, limit: int) -> list[Mover]:
    day = now - timedelta(days=1)
    recent = reports.actor_totals(day, now, limit=MAX_LIMIT, min_articles=MOVER_MIN_ARTICLES)
    if not recent:
        return []
    week = reports.actor_totals(
        day - timedelta(days=7), day, limit=MAX_LIMIT, names=[t.name for t in recent]
    )
    before = {t.name: t for t in week}
    found = []
    for total in recent:
        base = before.get(total.name)
        daily = base.articles / 7 if base else 0.0
        ratio = (total.articles + 1) / (daily + 1)
        shift = total.mean - base.mean if base and base.articles >= MOVER_MIN_ARTICLES else 0.0
        movement = abs(math.log2(ratio)) + 2 * abs(shift)
        found.append(
            Mover(
                total=total,
                baseline_daily=round(daily, 2),
                baseline_mean=base.mean if base else None,
                volume_ratio=round(ratio, 3),
                sentiment_shift=round(shift, 4),
                movement=round(movement, 4),
            )
        )
    found.sort(key=lambda m: (-m.movement, m.total.name))
    return found[:limit]


# ------------------------------------------------------------------ actors and topics


def actors(
    store: Store, now: datetime, *, days: float = 7, limit: int = 50, watched: tuple[str, ...] = ()
) -> list[ActorTotal]:
    """Actors by coverage in the window, most first; every watched actor is listed, with
    zero articles if the window has none."""
    check_limit(limit)
    since, until = window(now, days)
    with store.transaction(readonly=True) as repo:
        found = repo.actor_totals(since, until, limit=limit)
        listed = {t.name for t in found}
        missing = [n for n in watched if n not in listed]
        extra = repo.actor_totals(since, until, limit=MAX_LIMIT, names=missing) if missing else []
    seen = {t.name for t in extra}
    quiet = [ActorTotal(n, "other", 0, 0.0, 0, 0, 0, True) for n in missing if n not in seen]
    watched_set = set(watched)
    return [
        replace(t, watched=t.watched or t.name in watched_set) for t in [*found, *extra, *quiet]
    ]


def actor_report(
    store: Store,
    name: str,
    now: datetime,
    *,
    days: float = 90,
    bucket: Bucket = "day",
    evidence: int = 10,
) -> ActorReport:
    """An actor's coverage over the window: totals, series, evidence, co-occurring actors."""
    since, until = window(now, days)
    check_bucket(bucket, days)
    check_limit(evidence)
    with store.transaction(readonly=True) as repo:
        totals = repo.actor_totals(since, until, limit=1, names=[name])
        series = repo.actor_series(name, since, until, bucket)
        items = repo.actor_evidence(name, since, until, evidence)
        others = repo.co_actors(name, since, until, 10)
    return ActorReport(
        name=name,
        since=since,
        until=until,
        bucket=bucket,
        total=totals[0] if totals else None,
        series=dense_series(series, since, until, bucket),
        evidence=tuple(items),
        co_actors=tuple(others),
    )


def topics(store: Store, now: datetime, *, days: float = 7) -> list[TopicTotal]:
    since, until = window(now, days)
    with store.transaction(readonly=True) as repo:
        return repo.topic_totals(since, until)


def topic_report(
    store: Store,
    code: str,
    now: datetime,
    *,
    days: float = 30,
    bucket: Bucket = "day",
    latest: int = 20,
) -> TopicReport:
    """A topic's volume over the window and its newest articles."""
    since, until = window(now, days)
    check_bucket(bucket, days)
    check_limit(latest)
    with store.transaction(readonly=True) as repo:
        series = repo.article_volume(since, until, bucket, topic=code)
        newest = repo.find_articles(
            ArticleFilter(since=since, until=until, topic=code), after=None, limit=latest
        )
        label = next((t.label for a in newest for t in a.topics if t.code == code), code)
    return TopicReport(
        code=code,
        label=label,
        since=since,
        until=until,
        bucket=bucket,
        articles=sum(p.articles for p in series),
        series=dense_volume(series, since, until, bucket),
        latest=tuple(newest),
    )


def bucket_starts(since: datetime, until: datetime, bucket: Bucket) -> list[datetime]:
    """The start of every bucket that ``[since, until)`` touches, oldest first."""
    step = timedelta(days=1) if bucket == "day" else timedelta(hours=1)
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        start = start.replace(hour=0)
    starts = []
    while start < until:
        starts.append(start)
        start += step
    return starts


def dense_volume(
    points: Sequence[VolumePoint], since: datetime, until: datetime, bucket: Bucket
) -> tuple[VolumePoint, ...]:
    """``points`` with a zero point for every empty bucket, so a chart's x axis is time."""
    have = {p.start: p for p in points}
    return tuple(have.get(t, VolumePoint(t, 0)) for t in bucket_starts(since, until, bucket))


def dense_series(
    points: Sequence[ActorPoint], since: datetime, until: datetime, bucket: Bucket
) -> tuple[ActorPoint, ...]:
    have = {p.start: p for p in points}
    return tuple(
        have.get(t, ActorPoint(t, 0, 0.0, 0, 0, 0)) for t in bucket_starts(since, until, bucket)
    )


def check_bucket(bucket: str, days: float) -> Bucket:
    if bucket == "day":
        return "day"
    if bucket == "hour":
        if days > MAX_HOURLY_DAYS:
            raise InvalidInput(f"an hourly series covers at most {MAX_HOURLY_DAYS} days")
        return "hour"
    raise InvalidInput(f"bucket must be 'day' or 'hour', not {bucket!r}")


def recent_digests(store: Store, now: datetime, *, days: float = 7) -> list[tuple[DigestRun, str]]:
    """Digest runs of the window, newest first, each with its subscription's name."""
    since, _ = window(now, days)
    with store.transaction(readonly=True) as repo:
        runs = repo.recent_digest_runs(since)
        names = {s.id: s.spec.name for s in repo.list_subscriptions()}
    runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return [(r, names.get(r.subscription_id, "")) for r in runs]
