"""The SQL implementation of :class:`feeds.ports.Store` and :class:`feeds.ports.Repository`.

Design decisions:

* **Race-free inserts.** Several processes may insert the same story at once (two feeds
  carrying it, two workers polling). Nothing here checks and then inserts; every insert
  that can collide is ``INSERT … ON CONFLICT`` (the dialect's own ``insert`` construct)
  and the row is then read back. The database's unique constraints decide who won, and
  only the winner gets ``ArticleRef.created == True``. On PostgreSQL, ``ON CONFLICT``
  waits for a concurrent uncommitted insert of the same key and then sees it; on SQLite
  ``BEGIN IMMEDIATE`` (see :mod:`storage.db`) serialises writers altogether.
* **Core, not ORM.** Queries go through SQLAlchemy Core on the session's connection; rows
  are turned into frozen dataclasses by :mod:`storage.convert` and nothing mutable escapes.
* **No N+1.** :meth:`SqlRepository.iter_articles` reads articles in keyset-paginated pages
  and loads the feeds, topics and actors of a whole page with one query each.
* **Lock order.** A transaction that adds many articles holds their unique-key locks until
  it commits. On PostgreSQL two such transactions adding overlapping stories in opposite
  orders can deadlock; the server then aborts one, which surfaces as ``StorageError`` and
  can simply be retried. Callers that batch should add articles in a stable order (for
  example sorted by ``content_hash``) or commit per article.
* **Errors.** Driver errors are wrapped once, in :meth:`SqlStore.transaction`, as
  :class:`feeds.errors.StorageError`. Missing rows raise :class:`feeds.errors.NotFound`
  with a message that tells the user how to list what exists.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    distinct,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from feeds.errors import AlreadyExists, NotFound, StorageError
from feeds.models import (
    ActorMention,
    ActorSentiment,
    AnalysisResult,
    ArticleForAnalysis,
    ArticleForGrouping,
    ArticleRef,
    DigestRun,
    DuplicateCandidate,
    FeedInfo,
    FeedRef,
    FeedSource,
    FetchOutcome,
    NewArticle,
    StoredArticle,
    StorySummary,
    Subscription,
    SubscriptionSpec,
    TopicScore,
    WatchedActor,
)
from feeds.query import Need
from feeds.stories import StoryCandidate
from feeds.user_topics import SearchDoc, UserTopic
from storage import convert, search
from storage.coltypes import dump_strings, load_strings
from storage.db import READONLY_OPTION, connection_failure
from storage.tables import (
    ARTICLE,
    ARTICLE_ACTOR,
    ARTICLE_BAND,
    ARTICLE_TOPIC,
    DIGEST_RUN,
    FEED,
    FEED_IDENTITY,
    SIGHTING,
    STORY,
    STORY_TERM,
    SUBSCRIPTION,
    TOMBSTONE,
    USER_TOPIC,
    WATCHED_ACTOR,
)

if TYPE_CHECKING:
    from feeds.ports import Repository, Store

# Rows per page when streaming articles, and ids per ``IN (…)`` list (SQLite caps the
# number of bound parameters per statement).
PAGE_SIZE = 500

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = PAGE_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlStore:
    """A :class:`feeds.ports.Store` on an engine from :func:`storage.db.make_engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._readonly_engine = engine.execution_options(**{READONLY_OPTION: True})

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[SqlRepository]:
        """One unit of work: commit on normal exit, roll back on an exception.

        ``readonly=True`` is a hint for long reads (exports): on SQLite it starts a
        deferred transaction so the write lock is not held while rows stream out.
        Iterators returned by the repository must be consumed inside the block.
        """
        bind = self._readonly_engine if readonly else self._engine
        try:
            with Session(bind, expire_on_commit=False) as session, session.begin():
                yield SqlRepository(session)
        except DBAPIError as exc:
            raise StorageError(connection_failure(self._engine, exc)) from exc
        except StatementError as exc:
            # Raised before reaching the database, e.g. a naive datetime refused by
            # UTCDateTime: a caller's bug, so it keeps its own type.
            if isinstance(exc.orig, ValueError | TypeError):
                raise exc.orig from exc
            raise StorageError(connection_failure(self._engine, exc)) from exc


class SqlRepository:
    """Every :class:`feeds.ports.Repository` method, inside one session's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # ------------------------------------------------------------------ helpers

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        # Both constructs offer on_conflict_do_nothing/-update with the same arguments.
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _rows(self, stmt: Any) -> list[Any]:
        return list(self._session.execute(stmt).mappings().all())

    def _one_or_none(self, stmt: Any) -> Any:
        return self._session.execute(stmt).mappings().one_or_none()

    # ------------------------------------------------------------------ feeds

    def _feed_query(self) -> Select[Any]:
        counts = (
            select(
                SIGHTING.c.feed_id,
                func.count(distinct(SIGHTING.c.article_id)).label("article_count"),
            )
            .group_by(SIGHTING.c.feed_id)
            .subquery()
        )
        return select(
            FEED, func.coalesce(counts.c.article_count, 0).label("article_count")
        ).outerjoin(counts, counts.c.feed_id == FEED.c.id)

    def add_feed(self, url: str, title: str | None, now: datetime) -> FeedInfo:
        stmt = (
            self._insert(FEED)
            .values(url=url, title=title or None, created_at=now, paused=False, error_count=0)
            .on_conflict_do_nothing(index_elements=[FEED.c.url])
            .returning(FEED.c.id)
        )
        feed_id = self._session.execute(stmt).scalar_one_or_none()
        if feed_id is None:
            existing = self._session.execute(
                select(FEED.c.id).where(FEED.c.url == url)
            ).scalar_one_or_none()
            raise AlreadyExists(f"a feed with url {url} already exists (id {existing})")
        return self.get_feed(feed_id)

    def get_feed(self, feed_id: int) -> FeedInfo:
        row = self._one_or_none(self._feed_query().where(FEED.c.id == feed_id))
        if row is None:
            raise _no_feed(feed_id)
        return convert.feed_info(row, row["article_count"])

    def list_feeds(self) -> list[FeedInfo]:
        rows = self._rows(self._feed_query().order_by(FEED.c.id))
        return [convert.feed_info(row, row["article_count"]) for row in rows]

    def remove_feed(self, feed_id: int) -> None:
        """Delete the feed and its sightings; the articles stay (other feeds may carry them)."""
        # Explicit, not only ON DELETE CASCADE: correct even where foreign keys are off.
        self._session.execute(delete(SIGHTING).where(SIGHTING.c.feed_id == feed_id))
        deleted = self._session.execute(
            delete(FEED).where(FEED.c.id == feed_id).returning(FEED.c.id)
        ).scalar_one_or_none()
        if deleted is None:
            raise _no_feed(feed_id)

    def set_feed_paused(self, feed_id: int, paused: bool) -> None:
        values: dict[str, Any] = {"paused": paused}
        if not paused:
            # Resuming is also how a feed marked gone (410) is given another chance.
            gone = FEED.c.health == "gone"
            values["next_fetch_at"] = case((gone, None), else_=FEED.c.next_fetch_at)
            values["health"] = case((gone, "failing"), else_=FEED.c.health)
        updated = self._session.execute(
            update(FEED).where(FEED.c.id == feed_id).values(**values).returning(FEED.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise _no_feed(feed_id)

    def feed_sources(
        self, *, ids: Sequence[int] | None = None, due_before: datetime | None = None
    ) -> list[FeedSource]:
        """Unpaused feeds; restricted to ``ids`` and/or to those due at ``due_before``."""
        conditions: list[ColumnElement[bool]] = [FEED.c.paused.is_(False)]
        if due_before is not None:
            conditions.append(
                or_(FEED.c.next_fetch_at.is_(None), FEED.c.next_fetch_at <= due_before)
            )
        if ids is None:
            # A gone feed (410) is polled only when asked for by id, or once resumed.
            conditions.append(FEED.c.health != "gone")
        base = select(
            FEED.c.id,
            FEED.c.url,
            FEED.c.etag,
            FEED.c.last_modified,
            FEED.c.interval_seconds,
            FEED.c.failure_score,
            FEED.c.error_count,
            FEED.c.body_hash,
            FEED.c.redirect_url,
            FEED.c.redirect_count,
            FEED.c.full_text,
        ).where(*conditions)
        if ids is None:
            return [convert.feed_source(r) for r in self._rows(base.order_by(FEED.c.id))]
        found: list[FeedSource] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            found.extend(
                convert.feed_source(r) for r in self._rows(base.where(FEED.c.id.in_(chunk)))
            )
        return sorted(found, key=lambda source: source.id)

    def record_fetch(self, outcome: FetchOutcome) -> None:
        values = _fetch_values(outcome)
        if outcome.new_url is not None:
            taken = self._session.execute(
                select(FEED.c.id).where(FEED.c.url == outcome.new_url)
            ).scalar_one_or_none()
            if taken is None:  # another feed already has that URL: keep ours
                values["url"] = outcome.new_url
        updated = self._session.execute(
            update(FEED).where(FEED.c.id == outcome.feed_id).values(**values).returning(FEED.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise _no_feed(outcome.feed_id)

    def record_fetches(self, outcomes: Sequence[FetchOutcome]) -> None:
        """:meth:`record_fetch` for many (the unchanged feeds of a pass): outcomes that set
        the same columns to plain values go in one executemany UPDATE, the rest one by
        one. A feed deleted meanwhile is skipped rather than reported."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for outcome in outcomes:
            values = _fetch_values(outcome)
            if outcome.new_url is not None or any(
                isinstance(v, ClauseElement) for v in values.values()
            ):
                self.record_fetch(outcome)
                continue
            row = {f"v_{name}": value for name, value in values.items()}
            row["v_feed_id"] = outcome.feed_id
            groups.setdefault(tuple(sorted(values)), []).append(row)
        for names, rows in groups.items():
            statement = (
                update(FEED)
                .where(FEED.c.id == bindparam("v_feed_id"))
                .values({name: bindparam(f"v_{name}") for name in names})
            )
            self._session.execute(statement, rows)

    # ------------------------------------------------------------------ articles

    def add_article(self, article: NewArticle) -> ArticleRef:
        """Insert once (race-free) and record the sighting by ``article.feed_id``."""
        # Prebuilt statements with bound parameters (see _article_statements): building a
        # new statement per article cost more than the database work on the ingest path.
        insert_article, upsert_sighting = _article_statements(self._dialect)
        inserted = self._session.execute(
            insert_article, _article_params(article)
        ).scalar_one_or_none()
        article_id = inserted if inserted is not None else self._existing_article_id(article)
        self._session.execute(
            upsert_sighting,
            {
                "article_id": article_id,
                "feed_id": article.feed_id,
                "entry_key": article.entry_key,
                "first_seen": article.seen_at,
                "last_seen": article.seen_at,
            },
        )
        return ArticleRef(id=article_id, created=inserted is not None)

    def add_articles(self, articles: Sequence[NewArticle]) -> list[ArticleRef]:
        """:meth:`add_article` for many, in order, with the same results, in a few
        statements: one multi-row insert, one look-up of the rows that were already
        there, one batch of sighting upserts."""
        if not articles:
            return []
        insert_article, upsert_sighting = _article_statements(self._dialect)
        params = [_article_params(a) for a in articles]
        # RETURNING the identity keys tells which rows were inserted. Within one statement
        # a row that conflicts with an earlier row of the same batch is skipped, exactly
        # as the second of two single inserts would be.
        returned = self._session.execute(
            insert_article.returning(ARTICLE.c.canonical_url, ARTICLE.c.content_hash), params
        ).all()
        inserted: dict[tuple[str | None, str], int] = {
            (row[1], row[2]): int(row[0]) for row in returned
        }
        refs: list[ArticleRef | None] = []
        missing: list[NewArticle] = []
        for article in articles:
            article_id = inserted.pop((article.canonical_url, article.content_hash), None)
            if article_id is None:
                missing.append(article)
                refs.append(None)
            else:
                refs.append(ArticleRef(id=article_id, created=True))
        if missing:
            existing = iter(self._existing_article_ids(missing))
            refs = [ref or ArticleRef(id=next(existing), created=False) for ref in refs]
        done = [ref for ref in refs if ref is not None]
        self._session.execute(
            upsert_sighting,
            [
                {
                    "article_id": ref.id,
                    "feed_id": article.feed_id,
                    "entry_key": article.entry_key,
                    "first_seen": article.seen_at,
                    "last_seen": article.seen_at,
                }
                for article, ref in zip(articles, done, strict=True)
            ],
        )
        return done

    def _ids_by(self, column: Any, values: Sequence[str]) -> dict[str, int]:
        """Stored article ids keyed by ``column`` for the given values (chunked IN lists)."""
        found: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(values))):
            rows = self._session.execute(select(ARTICLE.c.id, column).where(column.in_(chunk)))
            found.update((row[1], int(row[0])) for row in rows)
        return found

    def _existing_article_ids(self, articles: Sequence[NewArticle]) -> list[int]:
        """The stored ids of articles whose insert conflicted, in order (as
        :meth:`_existing_article_id`, in two queries)."""
        urls = [a.canonical_url for a in articles if a.canonical_url is not None]
        by_url = self._ids_by(ARTICLE.c.canonical_url, urls)
        by_hash = self._ids_by(
            ARTICLE.c.content_hash,
            [a.content_hash for a in articles if a.canonical_url not in by_url],
        )
        ids: list[int] = []
        for article in articles:
            found = by_url.get(article.canonical_url or "") or by_hash.get(article.content_hash)
            if found is None:
                raise StorageError(
                    f"article {article.canonical_url or article.content_hash} conflicted on "
                    "insert but could not be read back; retry the fetch"
                )
            ids.append(found)
        return ids

    def _existing_article_id(self, article: NewArticle) -> int:
        # The canonical URL is the stronger identity, so it is preferred when both keys
        # match (different) rows.
        if article.canonical_url is not None:
            found = self._session.execute(
                select(ARTICLE.c.id).where(ARTICLE.c.canonical_url == article.canonical_url)
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
        found = self._session.execute(
            select(ARTICLE.c.id).where(ARTICLE.c.content_hash == article.content_hash)
        ).scalar_one_or_none()
        if found is None:
            # Only possible if the conflicting row vanished between the two statements.
            raise StorageError(
                f"article {article.canonical_url or article.content_hash} conflicted on "
                "insert but could not be read back; retry the fetch"
            )
        return int(found)

    def known_entry_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(keys))):
            known.update(
                self._session.execute(
                    select(SIGHTING.c.entry_key).where(
                        SIGHTING.c.feed_id == feed_id, SIGHTING.c.entry_key.in_(chunk)
                    )
                ).scalars()
            )
        return known

    def _oldest_articles(
        self, base: Select[Any], ids: Sequence[int] | None, limit: int
    ) -> list[Any]:
        """Rows of ``base`` (a select on ``article``), oldest id first, at most ``limit``;
        ``ids`` narrows the candidates (looked up in chunks, so any number may be given)."""
        if ids is None:
            return self._rows(base.order_by(ARTICLE.c.id).limit(limit))
        rows: list[Any] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            rows.extend(self._rows(base.where(ARTICLE.c.id.in_(chunk))))
        return sorted(rows, key=lambda r: r["id"])[:limit]

    def pending_analysis(
        self, *, ids: Sequence[int] | None = None, limit: int = 100
    ) -> list[ArticleForAnalysis]:
        """Articles never analysed, oldest id first; ``ids`` narrows the candidates."""
        base = _analysis_input().where(ARTICLE.c.analyzed_at.is_(None))
        return [_for_analysis(r) for r in self._oldest_articles(base, ids, limit)]

    def save_analysis(self, article_id: int, result: AnalysisResult, analyzed_at: datetime) -> None:
        """Replace the article's analysis (idempotent)."""
        updated = self._session.execute(
            update(ARTICLE)
            .where(ARTICLE.c.id == article_id)
            .values(analyzed_at=analyzed_at)
            .returning(ARTICLE.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise NotFound(f"no article with id {article_id}")
        self._session.execute(delete(ARTICLE_TOPIC).where(ARTICLE_TOPIC.c.article_id == article_id))
        self._session.execute(delete(ARTICLE_ACTOR).where(ARTICLE_ACTOR.c.article_id == article_id))
        # The primary keys are (article, code) and (article, name): keep the first of any
        # repeat, which is the analyser's best.
        topics = {t.code: t for t in reversed(result.topics)}
        actors = {a.name: a for a in reversed(result.actors)}
        if topics:
            self._session.execute(
                ARTICLE_TOPIC.insert(),
                [
                    {"article_id": article_id, "code": t.code, "label": t.label, "score": t.score}
                    for t in topics.values()
                ],
            )
        if actors:
            self._session.execute(
                ARTICLE_ACTOR.insert(),
                [
                    {
                        "article_id": article_id,
                        "name": a.name,
                        "type": a.type,
                        "sentiment": a.sentiment,
                        "score": a.score,
                        "mentions": a.mentions,
                        "evidence": dump_strings(a.evidence),
                        "watched": a.watched,
                    }
                    for a in actors.values()
                ],
            )

    def iter_articles(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Sequence[int] | None = None,
    ) -> Iterator[StoredArticle]:
        """Articles first seen in ``[since, until)``, oldest first, streamed in pages.

        Consume the iterator inside the transaction that produced it.
        """
        conditions: list[ColumnElement[bool]] = []
        if since is not None:
            conditions.append(ARTICLE.c.first_seen >= since)
        if until is not None:
            conditions.append(ARTICLE.c.first_seen < until)
        columns = select(
            ARTICLE.c.id,
            ARTICLE.c.url,
            ARTICLE.c.title,
            ARTICLE.c.published,
            ARTICLE.c.first_seen,
            ARTICLE.c.summary,
            ARTICLE.c.analyzed_at,
            ARTICLE.c.story_id,
            ARTICLE.c.duplicate_of,
        ).where(*conditions)

        if ids is not None:
            rows: list[Any] = []
            for chunk in _chunks(list(dict.fromkeys(ids))):
                rows.extend(self._rows(columns.where(ARTICLE.c.id.in_(chunk))))
            rows.sort(key=lambda r: (r["first_seen"], r["id"]))
            for page in _chunks(rows):
                yield from self._hydrate(page)
            return

        ordered = columns.order_by(ARTICLE.c.first_seen, ARTICLE.c.id).limit(PAGE_SIZE)
        page = self._rows(ordered)
        while page:
            yield from self._hydrate(page)
            if len(page) < PAGE_SIZE:
                return
            # Keyset pagination: stable and cheap however deep the export goes.
            last_seen, last_id = page[-1]["first_seen"], page[-1]["id"]
            page = self._rows(
                ordered.where(
                    or_(
                        ARTICLE.c.first_seen > last_seen,
                        and_(ARTICLE.c.first_seen == last_seen, ARTICLE.c.id > last_id),
                    )
                )
            )

    def _hydrate(self, rows: Sequence[Any]) -> Iterator[StoredArticle]:
        ids = [r["id"] for r in rows]
        feeds: dict[int, dict[int, FeedRef]] = defaultdict(dict)
        for r in self._rows(
            select(SIGHTING.c.article_id, SIGHTING.c.feed_id, FEED.c.url, FEED.c.title)
            .join(FEED, FEED.c.id == SIGHTING.c.feed_id)
            .where(SIGHTING.c.article_id.in_(ids))
            .order_by(SIGHTING.c.article_id, SIGHTING.c.first_seen, SIGHTING.c.feed_id)
        ):
            # Dict keyed by feed: a feed that sighted it under two keys is listed once.
            feeds[r["article_id"]].setdefault(r["feed_id"], convert.feed_ref(r))
        topics: dict[int, list[TopicScore]] = defaultdict(list)
        for r in self._rows(
            select(ARTICLE_TOPIC)
            .where(ARTICLE_TOPIC.c.article_id.in_(ids))
            .order_by(
                ARTICLE_TOPIC.c.article_id, ARTICLE_TOPIC.c.score.desc(), ARTICLE_TOPIC.c.code
            )
        ):
            topics[r["article_id"]].append(convert.topic(r))
        actors: dict[int, list[ActorSentiment]] = defaultdict(list)
        for r in self._rows(
            select(ARTICLE_ACTOR)
            .where(ARTICLE_ACTOR.c.article_id.in_(ids))
            .order_by(
                ARTICLE_ACTOR.c.article_id, ARTICLE_ACTOR.c.mentions.desc(), ARTICLE_ACTOR.c.name
            )
        ):
            actors[r["article_id"]].append(convert.actor(r))
        for r in rows:
            article_id = r["id"]
            yield StoredArticle(
                id=article_id,
                url=r["url"],
                title=r["title"],
                published=r["published"],
                first_seen=r["first_seen"],
                summary=r["summary"],
                feeds=tuple(feeds[article_id].values()),
                topics=tuple(topics[article_id]),
                actors=tuple(actors[article_id]),
                analyzed=r["analyzed_at"] is not None,
                story_id=r["story_id"],
                duplicate_of=r["duplicate_of"],
            )

    def count_articles(self) -> int:
        return int(self._session.execute(select(func.count()).select_from(ARTICLE)).scalar_one())

    # ------------------------------------------------------------------ subscriptions

    def add_subscription(self, spec: SubscriptionSpec, now: datetime) -> Subscription:
        new_id = self._session.execute(
            self._insert(SUBSCRIPTION)
            .values(
                name=spec.name,
                emails=dump_strings(spec.emails),
                schedule=spec.schedule,
                at=spec.at,
                tz=spec.tz,
                weekday=spec.weekday,
                topics=dump_strings(spec.topics),
                actors=dump_strings(spec.actors),
                paused=False,
                created_at=now,
                **_spec_extras(spec),
            )
            .on_conflict_do_nothing(index_elements=[SUBSCRIPTION.c.name])
            .returning(SUBSCRIPTION.c.id)
        ).scalar_one_or_none()
        if new_id is None:
            raise AlreadyExists(f"a subscription named {spec.name!r} already exists")
        return self.get_subscription(spec.name)

    def get_subscription(self, name: str) -> Subscription:
        row = self._one_or_none(select(SUBSCRIPTION).where(SUBSCRIPTION.c.name == name))
        if row is None:
            raise _no_subscription(name)
        return convert.subscription(row)

    def list_subscriptions(self) -> list[Subscription]:
        rows = self._rows(select(SUBSCRIPTION).order_by(SUBSCRIPTION.c.name))
        return [convert.subscription(r) for r in rows]

    def remove_subscription(self, name: str) -> None:
        """Delete the subscription and its digest history."""
        sub_id = self._session.execute(
            select(SUBSCRIPTION.c.id).where(SUBSCRIPTION.c.name == name)
        ).scalar_one_or_none()
        if sub_id is None:
            raise _no_subscription(name)
        self._session.execute(delete(DIGEST_RUN).where(DIGEST_RUN.c.subscription_id == sub_id))
        self._session.execute(delete(SUBSCRIPTION).where(SUBSCRIPTION.c.id == sub_id))

    def get_subscription_by_id(self, subscription_id: int) -> Subscription:
        row = self._one_or_none(select(SUBSCRIPTION).where(SUBSCRIPTION.c.id == subscription_id))
        if row is None:
            raise NotFound(
                f"no subscription with id {subscription_id} (see `newsmon subscriptions list`)"
            )
        return convert.subscription(row)

    def update_subscription(self, spec: SubscriptionSpec) -> Subscription:
        """Replace the schedule, recipients and filters of the subscription ``spec.name``."""
        updated = self._session.execute(
            update(SUBSCRIPTION)
            .where(SUBSCRIPTION.c.name == spec.name)
            .values(
                emails=dump_strings(spec.emails),
                schedule=spec.schedule,
                at=spec.at,
                tz=spec.tz,
                weekday=spec.weekday,
                topics=dump_strings(spec.topics),
                actors=dump_strings(spec.actors),
                **_spec_extras(spec),
            )
            .returning(SUBSCRIPTION.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise _no_subscription(spec.name)
        return self.get_subscription(spec.name)

    def set_subscription_paused(self, name: str, paused: bool) -> None:
        updated = self._session.execute(
            update(SUBSCRIPTION)
            .where(SUBSCRIPTION.c.name == name)
            .values(paused=paused)
            .returning(SUBSCRIPTION.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise _no_subscription(name)

    # ------------------------------------------------------------------ digests

    def claim_digest_run(
        self, subscription_id: int, period_key: str, message_id: str, now: datetime
    ) -> DigestRun | None:
        """Create the run for this period, or return the unsent one; None when already sent.

        The first claim's ``message_id`` is kept, so a retried digest reuses it and mail
        clients can recognise a resend.
        """
        exists = self._session.execute(
            select(SUBSCRIPTION.c.id).where(SUBSCRIPTION.c.id == subscription_id)
        ).scalar_one_or_none()
        if exists is None:
            raise NotFound(
                f"no subscription with id {subscription_id} (see `newsmon subscriptions list`)"
            )
        self._session.execute(
            self._insert(DIGEST_RUN)
            .values(
                subscription_id=subscription_id,
                period_key=period_key,
                status="pending",
                message_id=message_id,
                created_at=now,
                article_count=0,
            )
            .on_conflict_do_nothing(
                index_elements=[DIGEST_RUN.c.subscription_id, DIGEST_RUN.c.period_key]
            )
        )
        row = self._one_or_none(
            select(DIGEST_RUN).where(
                DIGEST_RUN.c.subscription_id == subscription_id,
                DIGEST_RUN.c.period_key == period_key,
            )
        )
        if row is None:
            raise StorageError(
                f"digest run {subscription_id}/{period_key} vanished while being claimed"
            )
        run = convert.digest_run(row)
        return None if run.status == "sent" else run

    def mark_digest_sent(self, run_id: int, sent_at: datetime, article_count: int) -> None:
        self._update_run(
            run_id,
            status="sent",
            sent_at=sent_at,
            article_count=article_count,
            error=None,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )

    def mark_digest_failed(self, run_id: int, error: str) -> None:
        self._update_run(run_id, status="failed", error=error)

    def _update_run(self, run_id: int, **values: Any) -> None:
        updated = self._session.execute(
            update(DIGEST_RUN)
            .where(DIGEST_RUN.c.id == run_id)
            .values(**values)
            .returning(DIGEST_RUN.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise NotFound(f"no digest run with id {run_id}")

    def list_digest_runs(self, subscription_id: int | None = None) -> list[DigestRun]:
        stmt = select(DIGEST_RUN).order_by(DIGEST_RUN.c.created_at, DIGEST_RUN.c.id)
        if subscription_id is not None:
            stmt = stmt.where(DIGEST_RUN.c.subscription_id == subscription_id)
        return [convert.digest_run(r) for r in self._rows(stmt)]

    def lease_digest_run(
        self,
        subscription_id: int,
        period_key: str,
        message_id: str,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
        respect_backoff: bool = True,
    ) -> tuple[DigestRun, bool]:
        """Create the outbox row if needed and try to lease it to ``owner``.

        Returns the row and whether the lease was granted. It is granted when the run is
        not finished (``pending``, or ``failed`` with a retry due), nobody holds an
        unexpired lease, and - with ``respect_backoff`` - its retry time has come. The
        lease is one conditional ``UPDATE``, so two senders can never both get it.
        """
        self.get_subscription_by_id(subscription_id)
        self._session.execute(
            self._insert(DIGEST_RUN)
            .values(
                subscription_id=subscription_id,
                period_key=period_key,
                status="pending",
                message_id=message_id,
                created_at=now,
                article_count=0,
                attempts=0,
                period_start=period_start,
                period_end=period_end,
                delivered="[]",
            )
            .on_conflict_do_nothing(
                index_elements=[DIGEST_RUN.c.subscription_id, DIGEST_RUN.c.period_key]
            )
        )
        retryable: ColumnElement[bool] = DIGEST_RUN.c.status.in_(("pending", "failed"))
        if respect_backoff:
            retryable = or_(
                DIGEST_RUN.c.status == "pending",
                and_(DIGEST_RUN.c.status == "failed", DIGEST_RUN.c.next_attempt_at <= now),
            )
        leased = self._session.execute(
            update(DIGEST_RUN)
            .where(
                DIGEST_RUN.c.subscription_id == subscription_id,
                DIGEST_RUN.c.period_key == period_key,
                retryable,
                or_(DIGEST_RUN.c.lease_expires_at.is_(None), DIGEST_RUN.c.lease_expires_at <= now),
            )
            .values(
                lease_owner=owner,
                lease_expires_at=lease_until,
                attempts=DIGEST_RUN.c.attempts + 1,
            )
            .returning(DIGEST_RUN.c.id)
        ).scalar_one_or_none()
        row = self._one_or_none(
            select(DIGEST_RUN).where(
                DIGEST_RUN.c.subscription_id == subscription_id,
                DIGEST_RUN.c.period_key == period_key,
            )
        )
        if row is None:
            raise StorageError(f"digest run {subscription_id}/{period_key} vanished")
        return convert.digest_run(row), leased is not None

    def record_delivery(self, run_id: int, recipient: str) -> None:
        """Note that ``recipient`` got this run's message (a retry skips them)."""
        current = self._session.execute(
            select(DIGEST_RUN.c.delivered).where(DIGEST_RUN.c.id == run_id)
        ).scalar_one_or_none()
        if current is None:
            raise NotFound(f"no digest run with id {run_id}")
        done = list(load_strings(current))
        if recipient not in done:
            done.append(recipient)
        self._update_run(run_id, delivered=dump_strings(done))

    def mark_digest_retry(
        self, run_id: int, owner: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed attempt and release the lease; ``None`` means "give up"."""
        self._session.execute(
            update(DIGEST_RUN)
            .where(DIGEST_RUN.c.id == run_id, DIGEST_RUN.c.lease_owner == owner)
            .values(
                status="failed",
                error=error,
                next_attempt_at=next_attempt_at,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    def mark_digest_skipped(self, run_id: int, now: datetime) -> None:
        self._update_run(
            run_id,
            status="skipped",
            sent_at=now,
            article_count=0,
            error=None,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )

    def recent_digest_runs(
        self, since: datetime, keys: Sequence[str] | None = None
    ) -> list[DigestRun]:
        """Runs created at or after ``since`` (only those with these period ``keys`` when
        given), plus every run still open: pending, or failed with a retry planned."""
        recent: ColumnElement[bool] = DIGEST_RUN.c.created_at >= since
        if keys is not None:
            recent = and_(recent, DIGEST_RUN.c.period_key.in_(list(dict.fromkeys(keys))[:900]))
        stmt = (
            select(DIGEST_RUN)
            .where(
                or_(
                    recent,
                    DIGEST_RUN.c.status == "pending",
                    and_(
                        DIGEST_RUN.c.status == "failed",
                        DIGEST_RUN.c.next_attempt_at.is_not(None),
                    ),
                )
            )
            .order_by(DIGEST_RUN.c.created_at, DIGEST_RUN.c.id)
        )
        return [convert.digest_run(r) for r in self._rows(stmt)]

    def actor_mentions(
        self, names: Sequence[str], since: datetime, until: datetime
    ) -> list[ActorMention]:
        """Mentions of these actors (matched ignoring case) in articles first seen in
        ``[since, until)``, oldest first. Duplicates of another article are left out."""
        wanted = list(dict.fromkeys(n.casefold() for n in names))
        if not wanted:
            return []
        found: list[ActorMention] = []
        for chunk in _chunks(wanted):
            rows = self._rows(
                select(
                    ARTICLE_ACTOR.c.article_id,
                    ARTICLE_ACTOR.c.name,
                    ARTICLE_ACTOR.c.sentiment,
                    ARTICLE_ACTOR.c.score,
                    ARTICLE_ACTOR.c.evidence,
                    ARTICLE.c.story_id,
                    ARTICLE.c.first_seen,
                )
                .join(ARTICLE, ARTICLE.c.id == ARTICLE_ACTOR.c.article_id)
                .where(
                    func.lower(ARTICLE_ACTOR.c.name).in_(chunk),
                    ARTICLE.c.first_seen >= since,
                    ARTICLE.c.first_seen < until,
                    ARTICLE.c.duplicate_of.is_(None),
                )
            )
            found.extend(convert.actor_mention(r) for r in rows)
        found.sort(key=lambda m: (m.first_seen, m.article_id, m.name))
        return found

    # ------------------------------------------------------------------ user topics

    def add_user_topic(self, name: str, query: str, now: datetime) -> UserTopic:
        inserted = self._session.execute(
            self._insert(USER_TOPIC)
            .values(name=name, query=query, created_at=now)
            .on_conflict_do_nothing(index_elements=[USER_TOPIC.c.name])
            .returning(USER_TOPIC.c.id)
        ).scalar_one_or_none()
        if inserted is None:
            raise AlreadyExists(f"a topic named {name!r} already exists")
        return self.get_user_topic(name)

    def get_user_topic(self, name: str) -> UserTopic:
        row = self._one_or_none(select(USER_TOPIC).where(USER_TOPIC.c.name == name))
        if row is None:
            raise NotFound(f"no topic named {name!r} (see `newsmon topics list`)")
        return UserTopic(row["name"], row["query"], row["created_at"])

    def list_user_topics(self) -> list[UserTopic]:
        rows = self._rows(select(USER_TOPIC).order_by(USER_TOPIC.c.created_at, USER_TOPIC.c.id))
        return [UserTopic(r["name"], r["query"], r["created_at"]) for r in rows]

    def remove_user_topic(self, name: str) -> None:
        """Delete the topic and its matches."""
        topic = self.get_user_topic(name)
        self._session.execute(delete(USER_TOPIC).where(USER_TOPIC.c.name == name))
        self._session.execute(delete(ARTICLE_TOPIC).where(ARTICLE_TOPIC.c.code == topic.code))

    def refresh_search_index(self) -> int:
        return search.refresh(self._session)

    def search_candidates(self, need: Need, since: datetime | None) -> list[SearchDoc]:
        return search.candidates(self._session, need, since)

    def replace_topic_matches(
        self, topic: UserTopic, article_ids: Sequence[int], since: datetime | None
    ) -> None:
        """Make ``article_ids`` the topic's matches among the articles seen since ``since``."""
        scope = select(ARTICLE.c.id)
        if since is not None:
            scope = scope.where(ARTICLE.c.first_seen >= since)
        self._session.execute(
            delete(ARTICLE_TOPIC).where(
                ARTICLE_TOPIC.c.code == topic.code, ARTICLE_TOPIC.c.article_id.in_(scope)
            )
        )
        for chunk in _chunks(list(dict.fromkeys(article_ids))):
            self._session.execute(
                ARTICLE_TOPIC.insert(),
                [
                    {"article_id": i, "code": topic.code, "label": topic.name, "score": 1.0}
                    for i in chunk
                ],
            )

    # ------------------------------------------------------------------ fetching

    def set_feed_full_text(self, feed_id: int, enabled: bool) -> None:
        updated = self._session.execute(
            update(FEED).where(FEED.c.id == feed_id).values(full_text=enabled).returning(FEED.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise _no_feed(feed_id)

    def postpone_feeds(self, ids: Sequence[int], until: datetime) -> None:
        """Set the next fetch of these feeds to ``until`` (a claim while a poll is queued)."""
        for chunk in _chunks(list(dict.fromkeys(ids))):
            self._session.execute(
                update(FEED).where(FEED.c.id.in_(chunk)).values(next_fetch_at=until)
            )

    def tombstoned(self, articles: Sequence[NewArticle]) -> set[str]:
        """Entry keys of ``articles`` whose identity was removed by retention."""
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for a in articles:
            wanted[("hash", a.content_hash)].add(a.entry_key)
            wanted[("entry", f"{a.feed_id} {a.entry_key}")].add(a.entry_key)
            if a.canonical_url:
                wanted[("url", a.canonical_url)].add(a.entry_key)
        found: set[str] = set()
        by_kind = {kind: [k for (k_kind, k) in wanted if k_kind == kind]
                   for kind in ("hash", "entry", "url")}  # fmt: skip
        # One query per chunk of each kind, all kinds together: this runs for every
        # changed feed, and the table is usually small or empty. The statement is built
        # once (its lists are expanding parameters): building it per feed cost more
        # than running it.
        chunked = {kind: list(_chunks(keys)) for kind, keys in by_kind.items()}
        for n in range(max(len(c) for c in chunked.values())):
            params = {kind: list(chunks[n]) if n < len(chunks) else [] for kind, chunks
                      in chunked.items()}  # fmt: skip
            for kind, key in self._session.execute(_TOMBSTONE_LOOKUP, params):
                found.update(wanted[(kind, key)])
        return found

    def prune_articles(self, first_seen_before: datetime, now: datetime) -> int:
        """Delete articles first seen before the cutoff, leaving tombstones; returns how many."""
        removed = 0
        while True:
            rows = self._rows(
                select(ARTICLE.c.id, ARTICLE.c.canonical_url, ARTICLE.c.content_hash)
                .where(ARTICLE.c.first_seen < first_seen_before)
                .order_by(ARTICLE.c.id)
                .limit(PAGE_SIZE)
            )
            if not rows:
                return removed
            ids = [r["id"] for r in rows]
            stones: set[tuple[str, str]] = set()
            for r in rows:
                stones.add(("hash", r["content_hash"]))
                if r["canonical_url"]:
                    stones.add(("url", r["canonical_url"]))
            for s in self._rows(
                select(SIGHTING.c.feed_id, SIGHTING.c.entry_key).where(
                    SIGHTING.c.article_id.in_(ids)
                )
            ):
                stones.add(("entry", f"{s['feed_id']} {s['entry_key']}"))
            ordered = sorted(stones)
            for chunk in _chunks(ordered):
                self._session.execute(
                    self._insert(TOMBSTONE)
                    .values([{"kind": k, "key": v, "removed_at": now} for k, v in chunk])
                    .on_conflict_do_nothing(index_elements=[TOMBSTONE.c.kind, TOMBSTONE.c.key])
                )
            # Explicit deletes of the dependants: correct even where foreign keys are off.
            for table in (ARTICLE_TOPIC, ARTICLE_ACTOR, SIGHTING):
                self._session.execute(delete(table).where(table.c.article_id.in_(ids)))
            self._session.execute(
                update(ARTICLE).where(ARTICLE.c.duplicate_of.in_(ids)).values(duplicate_of=None)
            )
            self._session.execute(delete(ARTICLE).where(ARTICLE.c.id.in_(ids)))
            removed += len(ids)

    def count_tombstones(self) -> int:
        return int(self._session.execute(select(func.count()).select_from(TOMBSTONE)).scalar_one())

    # ------------------------------------------------------------------ analysis stage

    def article_ids(
        self,
        *,
        since: datetime | None = None,
        pending: bool = False,
        feed_id: int | None = None,
    ) -> list[int]:
        stmt = select(ARTICLE.c.id).order_by(ARTICLE.c.id)
        if since is not None:
            stmt = stmt.where(ARTICLE.c.first_seen >= since)
        if pending:
            stmt = stmt.where(ARTICLE.c.analyzed_at.is_(None))
        if feed_id is not None:
            carried = select(SIGHTING.c.article_id).where(SIGHTING.c.feed_id == feed_id)
            stmt = stmt.where(ARTICLE.c.id.in_(carried))
        return [int(i) for i in self._session.execute(stmt).scalars()]

    def articles_for_analysis(self, ids: Sequence[int]) -> list[ArticleForAnalysis]:
        rows = self._oldest_articles(_analysis_input(), ids, len(ids))
        return [_for_analysis(r) for r in rows]

    # ------------------------------------------------------------------ feed identity

    def guids_broken(self, feed_id: int) -> bool:
        found = self._session.execute(
            select(FEED_IDENTITY.c.guids_broken).where(FEED_IDENTITY.c.feed_id == feed_id)
        ).scalar_one_or_none()
        return bool(found)

    def mark_guids_broken(self, feed_id: int, reason: str, now: datetime) -> None:
        """Record once (race-free) that the feed's GUIDs are unusable; the first reason stays."""
        self._session.execute(
            self._insert(FEED_IDENTITY)
            .values(feed_id=feed_id, guids_broken=True, reason=reason, decided_at=now)
            .on_conflict_do_nothing(index_elements=[FEED_IDENTITY.c.feed_id])
        )

    def sighted_keys_by_link(self, feed_id: int, links: Sequence[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for chunk in _chunks(list(dict.fromkeys(links))):
            for r in self._rows(
                select(ARTICLE.c.canonical_url, SIGHTING.c.entry_key)
                .join(ARTICLE, ARTICLE.c.id == SIGHTING.c.article_id)
                .where(SIGHTING.c.feed_id == feed_id, ARTICLE.c.canonical_url.in_(chunk))
            ):
                found[r["canonical_url"]].add(r["entry_key"])
        return dict(found)

    # ------------------------------------------------------------------ stories

    def ungrouped_articles(
        self, *, ids: Sequence[int] | None = None, limit: int = 500
    ) -> list[ArticleForGrouping]:
        base = select(
            ARTICLE.c.id,
            ARTICLE.c.title,
            ARTICLE.c.content,
            ARTICLE.c.summary,
            ARTICLE.c.published,
            ARTICLE.c.first_seen,
        ).where(ARTICLE.c.story_id.is_(None))
        rows = self._oldest_articles(base, ids, limit)
        return [
            ArticleForGrouping(
                id=r["id"],
                title=r["title"],
                text=r["content"] or r["summary"],
                published=r["published"],
                first_seen=r["first_seen"],
            )
            for r in rows
        ]

    def lock_story_index(self) -> None:
        # SQLite: the write transaction began with BEGIN IMMEDIATE, so it is alone already.
        if self._dialect == "postgresql":
            self._session.execute(select(func.pg_advisory_xact_lock(_STORY_LOCK_KEY)))

    def story_of(self, article_id: int) -> int | None:
        found = self._session.execute(
            select(ARTICLE.c.story_id).where(ARTICLE.c.id == article_id)
        ).one_or_none()
        if found is None:
            raise NotFound(f"no article with id {article_id}")
        return None if found[0] is None else int(found[0])

    def duplicate_candidates(
        self,
        band_keys: Sequence[int],
        *,
        start: datetime,
        end: datetime,
        limit: int,
        exclude: int,
    ) -> list[DuplicateCandidate]:
        if not band_keys:
            return []
        shared = func.count().label("shared")
        matches = (
            select(ARTICLE_BAND.c.article_id, shared)
            .where(
                ARTICLE_BAND.c.band_key.in_(list(band_keys)),
                ARTICLE_BAND.c.event_time >= start,
                ARTICLE_BAND.c.event_time <= end,
                ARTICLE_BAND.c.article_id != exclude,
            )
            .group_by(ARTICLE_BAND.c.article_id)
            .order_by(shared.desc(), ARTICLE_BAND.c.article_id)
            .limit(limit)
            .subquery()
        )
        rows = self._rows(
            select(
                ARTICLE.c.id,
                ARTICLE.c.content,
                ARTICLE.c.summary,
                ARTICLE.c.story_id,
                ARTICLE.c.duplicate_of,
                matches.c.shared,
            )
            .join(matches, matches.c.article_id == ARTICLE.c.id)
            .order_by(matches.c.shared.desc(), ARTICLE.c.id)
        )
        return [
            DuplicateCandidate(
                id=r["id"],
                text=r["content"] or r["summary"],
                story_id=r["story_id"],
                duplicate_of=r["duplicate_of"],
                shared_bands=int(r["shared"]),
            )
            for r in rows
        ]

    def index_bands(self, article_id: int, band_keys: Sequence[int], when: datetime) -> None:
        if not band_keys:
            return
        self._session.execute(
            self._insert(ARTICLE_BAND).on_conflict_do_nothing(),
            [
                {"band_key": key, "article_id": article_id, "event_time": when}
                for key in dict.fromkeys(band_keys)
            ],
        )

    def story_candidates(
        self, terms: Sequence[str], *, start: datetime, end: datetime, limit: int
    ) -> list[StoryCandidate]:
        if not terms:
            return []
        shared = func.count().label("shared")
        matches = (
            select(STORY_TERM.c.story_id, shared)
            .where(STORY_TERM.c.term.in_(list(terms)), STORY_TERM.c.last_time >= start)
            .group_by(STORY_TERM.c.story_id)
            .order_by(shared.desc(), STORY_TERM.c.story_id.desc())
            .limit(limit)
            .subquery()
        )
        rows = self._rows(
            select(STORY)
            .join(matches, matches.c.story_id == STORY.c.id)
            .where(STORY.c.first_time <= end)
            .order_by(STORY.c.id)
        )
        return [
            StoryCandidate(
                id=r["id"],
                first_time=r["first_time"],
                last_time=r["last_time"],
                signature=_load_signature(r["signature"]),
            )
            for r in rows
        ]

    def create_story(
        self, when: datetime, signature: dict[str, float], index_terms: Sequence[str]
    ) -> int:
        story_id = int(
            self._session.execute(
                STORY.insert()
                .values(
                    first_time=when, last_time=when, size=0, signature=_dump_signature(signature)
                )
                .returning(STORY.c.id)
            ).scalar_one()
        )
        self._replace_story_terms(story_id, index_terms, when)
        return story_id

    def extend_story(
        self,
        story_id: int,
        when: datetime,
        *,
        signature: dict[str, float] | None,
        index_terms: Sequence[str] | None,
    ) -> None:
        row = self._one_or_none(
            select(STORY.c.first_time, STORY.c.last_time).where(STORY.c.id == story_id)
        )
        if row is None:
            raise NotFound(f"no story with id {story_id}")
        first, last = min(row["first_time"], when), max(row["last_time"], when)
        values: dict[str, Any] = {"first_time": first, "last_time": last}
        if signature is not None:
            values["signature"] = _dump_signature(signature)
        self._session.execute(update(STORY).where(STORY.c.id == story_id).values(**values))
        if index_terms is not None:
            self._replace_story_terms(story_id, index_terms, last)
        elif last != row["last_time"]:
            self._session.execute(
                update(STORY_TERM).where(STORY_TERM.c.story_id == story_id).values(last_time=last)
            )

    def _replace_story_terms(self, story_id: int, terms: Sequence[str], last: datetime) -> None:
        self._session.execute(delete(STORY_TERM).where(STORY_TERM.c.story_id == story_id))
        if terms:
            self._session.execute(
                STORY_TERM.insert(),
                [
                    {"term": term, "story_id": story_id, "last_time": last}
                    for term in dict.fromkeys(terms)
                ],
            )

    def assign_story(self, article_id: int, story_id: int, *, duplicate_of: int | None) -> None:
        updated = self._session.execute(
            update(ARTICLE)
            .where(ARTICLE.c.id == article_id)
            .values(story_id=story_id, duplicate_of=duplicate_of)
            .returning(ARTICLE.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise NotFound(f"no article with id {article_id}")
        self._session.execute(
            update(STORY).where(STORY.c.id == story_id).values(size=STORY.c.size + 1)
        )

    def list_stories(self, *, since: datetime | None = None, limit: int = 20) -> list[StorySummary]:
        stmt = select(STORY).order_by(STORY.c.size.desc(), STORY.c.last_time.desc(), STORY.c.id)
        if since is not None:
            stmt = stmt.where(STORY.c.last_time >= since)
        stories = self._rows(stmt.limit(limit))
        ids = [r["id"] for r in stories]
        if not ids:
            return []
        outlets: dict[int, int] = {
            int(story_id): int(count)
            for story_id, count in self._session.execute(
                select(ARTICLE.c.story_id, func.count(distinct(SIGHTING.c.feed_id)))
                .join(SIGHTING, SIGHTING.c.article_id == ARTICLE.c.id)
                .where(ARTICLE.c.story_id.in_(ids))
                .group_by(ARTICLE.c.story_id)
            )
        }
        first_ids = (
            select(func.min(ARTICLE.c.id))
            .where(ARTICLE.c.story_id.in_(ids))
            .group_by(ARTICLE.c.story_id)
            .scalar_subquery()
        )
        titles: dict[int, str] = {
            int(story_id): str(title)
            for story_id, title in self._session.execute(
                select(ARTICLE.c.story_id, ARTICLE.c.title).where(ARTICLE.c.id.in_(first_ids))
            )
        }
        return [
            StorySummary(
                id=r["id"],
                title=titles.get(r["id"], ""),
                articles=r["size"],
                outlets=int(outlets.get(r["id"], 0)),
                first_time=r["first_time"],
                last_time=r["last_time"],
            )
            for r in stories
        ]

    # ------------------------------------------------------------------ watchlist

    def save_watched_actor(self, actor: WatchedActor, now: datetime) -> None:
        values = {
            "name": actor.name,
            "name_key": actor.name.casefold(),
            "type": actor.type,
            "aliases": dump_strings(actor.aliases),
            "hidden": actor.hidden,
            "created_at": now,
        }
        stmt = self._insert(WATCHED_ACTOR).values(**values)
        self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[WATCHED_ACTOR.c.name_key],
                set_={k: v for k, v in values.items() if k != "name_key"},
            )
        )

    def list_watched_actors(self) -> list[WatchedActor]:
        rows = self._rows(select(WATCHED_ACTOR).order_by(WATCHED_ACTOR.c.name_key))
        return [convert.watched_actor(r) for r in rows]

    def delete_watched_actor(self, name: str) -> None:
        deleted = self._session.execute(
            delete(WATCHED_ACTOR)
            .where(WATCHED_ACTOR.c.name_key == name.casefold())
            .returning(WATCHED_ACTOR.c.id)
        ).scalar_one_or_none()
        if deleted is None:
            raise NotFound(f"no user-added actor named {name!r} (see `newsmon actors list`)")


# Tombstones of any of three kinds of key; an empty list matches nothing.
_TOMBSTONE_LOOKUP = select(TOMBSTONE.c.kind, TOMBSTONE.c.key).where(
    or_(*(
        and_(TOMBSTONE.c.kind == kind, TOMBSTONE.c.key.in_(bindparam(kind, expanding=True)))
        for kind in ("hash", "entry", "url")
    ))
)  # fmt: skip


@functools.cache
def _article_statements(dialect: str) -> tuple[Any, Any]:
    """The article insert and the sighting upsert of ``add_article``, built once per
    dialect; values come as bound parameters."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    insert_article = (
        make(ARTICLE)
        .values(
            {
                name: bindparam(name)
                for name in (
                    "url",
                    "canonical_url",
                    "content_hash",
                    "title",
                    "published",
                    "author",
                    "summary",
                    "content",
                    "categories",
                    "first_seen",
                )
            }
        )
        # No conflict target: either unique key (canonical URL or hash) means "known".
        .on_conflict_do_nothing()
        .returning(ARTICLE.c.id)
    )
    sighting = make(SIGHTING).values(
        {
            name: bindparam(name)
            for name in (
                "article_id",
                "feed_id",
                "entry_key",
                "first_seen",
                "last_seen",
            )
        }
    )
    upsert_sighting = sighting.on_conflict_do_update(
        index_elements=[SIGHTING.c.feed_id, SIGHTING.c.entry_key],
        set_={"last_seen": sighting.excluded.last_seen},
    )
    return insert_article, upsert_sighting


def _article_params(article: NewArticle) -> dict[str, Any]:
    return {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "content_hash": article.content_hash,
        "title": article.title,
        "published": article.published,
        "author": article.author,
        "summary": article.summary,
        "content": article.content,
        "categories": dump_strings(article.categories),
        "first_seen": article.seen_at,
    }


def _spec_extras(spec: SubscriptionSpec) -> dict[str, Any]:
    """The subscription columns added after the first schema."""
    return {
        "queries": dump_strings(spec.queries),
        "sentiments": dump_strings(spec.sentiments),
        "outlets": dump_strings(spec.outlets),
        "spike_alerts": spec.spike_alerts,
    }


def _fetch_values(outcome: FetchOutcome) -> dict[str, Any]:
    """The feed columns one poll's outcome sets (some as SQL expressions)."""
    values: dict[str, Any] = {
        "last_fetch_at": outcome.fetched_at,
        "next_fetch_at": outcome.next_fetch_at,
        "last_http_status": outcome.http_status,
    }
    if outcome.ok:
        values.update(last_success_at=outcome.fetched_at, last_error=None, error_count=0)
        # A 304 usually does not repeat the validators: keep the ones we have.
        if outcome.etag is not None:
            values["etag"] = outcome.etag
        if outcome.last_modified is not None:
            values["last_modified"] = outcome.last_modified
        # The feed's own title only fills a gap; a name the user gave wins.
        if outcome.title:
            values["title"] = func.coalesce(FEED.c.title, outcome.title)
        if outcome.site_url:
            values["site_url"] = func.coalesce(FEED.c.site_url, outcome.site_url)
    else:
        values.update(
            error_count=FEED.c.error_count + 1,
            last_error=outcome.error or "unknown error",
        )
    values.update(_schedule_values(outcome))
    return values


def _schedule_values(outcome: FetchOutcome) -> dict[str, Any]:
    """The scheduling columns a FetchOutcome sets; None leaves a column alone."""
    values: dict[str, Any] = {}
    for name in ("interval_seconds", "failure_score", "health", "body_hash"):
        value = getattr(outcome, name)
        if value is not None:
            values[name] = value
    if outcome.redirect_count is not None:
        values["redirect_url"] = outcome.redirect_url
        values["redirect_count"] = outcome.redirect_count
    return values


def _dump_signature(signature: dict[str, float]) -> str:
    return json.dumps(signature, separators=(",", ":"), sort_keys=True)


def _load_signature(text: str) -> dict[str, float]:
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise StorageError("a story signature in the database is not a JSON object")
    return {str(k): float(v) for k, v in loaded.items()}


# "newsmon-story" in ASCII, truncated to fit a bigint: the story-assignment lock.
_STORY_LOCK_KEY = 0x6E6577735F7374


def _analysis_input() -> Select[Any]:
    """The columns an analysis reads (see :class:`ArticleForAnalysis`)."""
    return select(
        ARTICLE.c.id,
        ARTICLE.c.title,
        ARTICLE.c.content,
        ARTICLE.c.summary,
        ARTICLE.c.author,
        ARTICLE.c.url,
    )


def _for_analysis(row: Any) -> ArticleForAnalysis:
    return ArticleForAnalysis(
        id=row["id"],
        title=row["title"],
        text=row["content"] or row["summary"],
        author=row["author"],
        url=row["url"],
    )


def _no_feed(feed_id: int) -> NotFound:
    return NotFound(f"no feed with id {feed_id} (see `newsmon feeds list`)")


def _no_subscription(name: str) -> NotFound:
    return NotFound(f"no subscription named {name!r} (see `newsmon subscriptions list`)")


if TYPE_CHECKING:
    # Let the type checker prove that the adapters satisfy the ports.
    def _conforms(store: SqlStore, repo: SqlRepository) -> tuple[Store, Repository]:
        return store, repo
