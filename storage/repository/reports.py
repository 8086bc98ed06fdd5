"""The read side of the dashboard and the API: listings, series over time, totals.

Design decisions:

* **Series read the analysis rows alone.** ``article_actor`` and ``article_topic`` carry
  their article's ``first_seen`` as ``seen_at`` (migration ``9_series_index``), and the
  covering indexes ``(name, seen_at, sentiment, score)`` and ``(seen_at, name, sentiment,
  score)`` turn an actor's series and the ranking of all actors in a window into
  index-only range scans: no join back to ``article``, whatever the table's size.
* **Buckets are grouped in SQL**: SQLite stores timestamps as ISO text, so a prefix is
  the bucket (``YYYY-MM-DD`` or ``YYYY-MM-DD HH``, UTC); on PostgreSQL the key is the
  bucket's start in epoch seconds. :func:`storage.convert.bucket_start` reads both.
* **Copies count.** A syndicated copy (``duplicate_of`` set) is coverage in another
  outlet, so volumes and sentiment include it; the digest's spike detector, which asks
  whether an actor is *newly* in the news, reads without copies (``actor_mentions``).
* **Newest first, keyset pages.** Listings order by ``(first_seen, id)`` descending and
  continue after the last row seen, so a deep page costs what the first one does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)

from feeds.models import FeedInfo, StoredArticle
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
from storage import convert
from storage.repository.articles import ArticleRows, stored_article_select
from storage.tables import ARTICLE, ARTICLE_ACTOR, ARTICLE_TOPIC, FEED, SIGHTING

# Ids of a text query's matches in one ``IN (…)``: below SQLite's bound-parameter cap.
MAX_IDS = 5000
# "Named alongside" counts over at most this many of the actor's newest articles.
CO_ACTOR_SAMPLE = 2000


class ReportRows(ArticleRows):
    """Reuses :class:`ArticleRows`' page hydration (feeds, topics, actors in one query each)."""

    def find_articles(
        self, where: ArticleFilter, *, after: tuple[datetime, int] | None, limit: int
    ) -> list[StoredArticle]:
        conditions = self._article_conditions(where)
        if conditions is None:
            return []
        if after is not None:
            seen, last_id = after
            conditions.append(
                or_(
                    ARTICLE.c.first_seen < seen,
                    and_(ARTICLE.c.first_seen == seen, ARTICLE.c.id < last_id),
                )
            )
        stmt = (
            stored_article_select()
            .where(*conditions)
            .order_by(ARTICLE.c.first_seen.desc(), ARTICLE.c.id.desc())
            .limit(limit)
        )
        return list(self._hydrate(self._rows(stmt)))

    def _article_conditions(self, where: ArticleFilter) -> list[ColumnElement[bool]] | None:
        """The ``WHERE`` of a listing, or None when it can match nothing."""
        conditions: list[ColumnElement[bool]] = []
        if where.since is not None:
            conditions.append(ARTICLE.c.first_seen >= where.since)
        if where.until is not None:
            conditions.append(ARTICLE.c.first_seen < where.until)
        if where.story_id is not None:
            conditions.append(ARTICLE.c.story_id == where.story_id)
        # EXISTS rather than IN (subquery): walking first_seen backwards and probing each
        # article's primary key finds a page of a common topic without reading it all.
        if where.topic is not None:
            conditions.append(
                exists().where(
                    ARTICLE_TOPIC.c.article_id == ARTICLE.c.id, ARTICLE_TOPIC.c.code == where.topic
                )
            )
        if where.actor is not None:
            conditions.append(
                exists().where(
                    ARTICLE_ACTOR.c.article_id == ARTICLE.c.id, ARTICLE_ACTOR.c.name == where.actor
                )
            )
        if where.feed_id is not None:
            conditions.append(
                exists().where(
                    SIGHTING.c.article_id == ARTICLE.c.id, SIGHTING.c.feed_id == where.feed_id
                )
            )
        if where.ids is not None:
            if not where.ids:
                return None
            conditions.append(ARTICLE.c.id.in_(list(where.ids)[:MAX_IDS]))
        return conditions

    def article_volume(
        self, since: datetime, until: datetime, bucket: Bucket, *, topic: str | None = None
    ) -> list[VolumePoint]:
        if topic is None:
            key = self._bucket(ARTICLE.c.first_seen, bucket)
            stmt = select(key.label("bucket"), func.count().label("articles")).where(
                ARTICLE.c.first_seen >= since, ARTICLE.c.first_seen < until
            )
        else:
            key = self._bucket(ARTICLE_TOPIC.c.seen_at, bucket)
            stmt = select(key.label("bucket"), func.count().label("articles")).where(
                ARTICLE_TOPIC.c.code == topic,
                ARTICLE_TOPIC.c.seen_at >= since,
                ARTICLE_TOPIC.c.seen_at < until,
            )
        rows = self._rows(stmt.group_by(key).order_by(key))
        return [convert.volume_point(r) for r in rows]

    def actor_series(
        self, name: str, since: datetime, until: datetime, bucket: Bucket
    ) -> list[ActorPoint]:
        key = self._bucket(ARTICLE_ACTOR.c.seen_at, bucket)
        stmt = (
            select(key.label("bucket"), *_sentiment_columns())
            .where(
                ARTICLE_ACTOR.c.name == name,
                ARTICLE_ACTOR.c.seen_at >= since,
                ARTICLE_ACTOR.c.seen_at < until,
            )
            .group_by(key)
            .order_by(key)
        )
        return [convert.actor_point(r) for r in self._rows(stmt)]

    def actor_totals(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int,
        names: Sequence[str] | None = None,
        min_articles: int = 1,
    ) -> list[ActorTotal]:
        conditions = [ARTICLE_ACTOR.c.seen_at >= since, ARTICLE_ACTOR.c.seen_at < until]
        if names is not None:
            if not names:
                return []
            conditions.append(ARTICLE_ACTOR.c.name.in_(list(names)))
        counted = func.count()
        totals = (
            select(ARTICLE_ACTOR.c.name, *_sentiment_columns())
            .where(*conditions)
            .group_by(ARTICLE_ACTOR.c.name)
            .having(counted >= min_articles)
            .order_by(counted.desc(), ARTICLE_ACTOR.c.name)
            .limit(limit)
            .subquery()
        )
        # Type and watched flag from one row of each listed actor: reading them in the
        # grouping above would leave the covering index for every mention in the window.
        one = ARTICLE_ACTOR.alias("one")

        def first(column: ColumnElement[Any]) -> Any:
            return select(column).where(one.c.name == totals.c.name).limit(1).scalar_subquery()

        stmt = select(
            *totals.c,
            first(one.c.type).label("type"),
            first(case((one.c.watched, 1), else_=0)).label("watched"),
        ).order_by(totals.c.articles.desc(), totals.c.name)
        return [convert.actor_total(r) for r in self._rows(stmt)]

    def co_actors(self, name: str, since: datetime, until: datetime, limit: int) -> list[CoActor]:
        # Over the actor's newest CO_ACTOR_SAMPLE articles of the window: for a busy actor
        # (tens of thousands of articles in 90 days) counting every co-occurrence costs a
        # primary-key probe per article; its recent company is what a reader asks about.
        mine = (
            select(ARTICLE_ACTOR.c.article_id)
            .where(
                ARTICLE_ACTOR.c.name == name,
                ARTICLE_ACTOR.c.seen_at >= since,
                ARTICLE_ACTOR.c.seen_at < until,
            )
            .order_by(ARTICLE_ACTOR.c.seen_at.desc())
            .limit(CO_ACTOR_SAMPLE)
            .subquery("mine")
        )
        other = ARTICLE_ACTOR.alias("other")
        counted = func.count()
        stmt = (
            select(other.c.name, counted.label("articles"))
            .select_from(mine.join(other, other.c.article_id == mine.c.article_id))
            .where(other.c.name != name)
            .group_by(other.c.name)
            .order_by(counted.desc(), other.c.name)
            .limit(limit)
        )
        return [convert.co_actor(r) for r in self._rows(stmt)]

    def actor_evidence(
        self, name: str, since: datetime, until: datetime, limit: int
    ) -> list[EvidenceItem]:
        stmt = (
            select(
                ARTICLE_ACTOR.c.article_id,
                ARTICLE_ACTOR.c.sentiment,
                ARTICLE_ACTOR.c.score,
                ARTICLE_ACTOR.c.evidence,
                ARTICLE.c.title,
                ARTICLE.c.url,
                ARTICLE.c.first_seen,
            )
            .join(ARTICLE, ARTICLE.c.id == ARTICLE_ACTOR.c.article_id)
            .where(
                ARTICLE_ACTOR.c.name == name,
                ARTICLE_ACTOR.c.seen_at >= since,
                ARTICLE_ACTOR.c.seen_at < until,
                ARTICLE_ACTOR.c.evidence != "[]",
            )
            .order_by(ARTICLE_ACTOR.c.seen_at.desc(), ARTICLE_ACTOR.c.article_id.desc())
            .limit(limit)
        )
        return [convert.evidence_item(r) for r in self._rows(stmt)]

    def topic_totals(self, since: datetime, until: datetime) -> list[TopicTotal]:
        counted = func.count()
        totals = (
            select(ARTICLE_TOPIC.c.code, counted.label("articles"))
            .where(ARTICLE_TOPIC.c.seen_at >= since, ARTICLE_TOPIC.c.seen_at < until)
            .group_by(ARTICLE_TOPIC.c.code)
            .subquery()
        )
        one = ARTICLE_TOPIC.alias("one")
        label = select(one.c.label).where(one.c.code == totals.c.code).limit(1).scalar_subquery()
        stmt = select(*totals.c, label.label("label")).order_by(
            totals.c.articles.desc(), totals.c.code
        )
        return [convert.topic_total(r) for r in self._rows(stmt)]

    def feed_problems(self, limit: int) -> list[FeedInfo]:
        """Feeds whose health is not "ok", worst first; articles counted for these only."""
        order = case((FEED.c.health == "gone", 0), (FEED.c.health == "failing", 1), else_=2)
        rows = self._rows(
            select(FEED, literal(0).label("article_count"))
            .where(FEED.c.health != "ok")
            .order_by(order, FEED.c.error_count.desc(), FEED.c.id)
            .limit(limit)
        )
        counts = self._feed_article_counts([r["id"] for r in rows])
        return [convert.feed_info(r, counts.get(r["id"], 0)) for r in rows]

    def _feed_article_counts(self, ids: Sequence[int]) -> dict[int, int]:
        if not ids:
            return {}
        stmt = (
            select(SIGHTING.c.feed_id, func.count(distinct(SIGHTING.c.article_id)))
            .where(SIGHTING.c.feed_id.in_(list(ids)))
            .group_by(SIGHTING.c.feed_id)
        )
        return {int(f): int(n) for f, n in self._session.execute(stmt)}

    def _bucket(self, column: Any, bucket: Bucket) -> ColumnElement[Any]:
        if self._dialect == "postgresql":
            # Whole days (hours) since the epoch: an integer key groups by hashing, where
            # a formatted text key made the planner sort, spilling past a 4 MB work_mem.
            seconds = 86400 if bucket == "day" else 3600
            return func.floor(func.date_part("epoch", column) / seconds) * seconds
        return func.substr(column, 1, 10 if bucket == "day" else 13)


def _sentiment_columns() -> list[Any]:
    """Articles, mean score and the three sentiment counts of the grouped mentions."""

    def share(value: str) -> Any:
        return func.sum(case((ARTICLE_ACTOR.c.sentiment == value, 1), else_=0))

    return [
        func.count().label("articles"),
        func.avg(ARTICLE_ACTOR.c.score).label("mean"),
        share("negative").label("negative"),
        share("neutral").label("neutral"),
        share("positive").label("positive"),
    ]
