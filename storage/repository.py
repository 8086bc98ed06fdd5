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

from feeds.errors import AlreadyExists, NotFound, StorageError
from feeds.models import (
    ActorSentiment,
    AnalysisResult,
    ArticleForAnalysis,
    ArticleRef,
    DigestRun,
    FeedInfo,
    FeedRef,
    FeedSource,
    FetchOutcome,
    NewArticle,
    StoredArticle,
    Subscription,
    SubscriptionSpec,
    TopicScore,
    WatchedActor,
)
from storage import convert
from storage.coltypes import dump_strings
from storage.db import READONLY_OPTION, connection_failure
from storage.tables import (
    ARTICLE,
    ARTICLE_ACTOR,
    ARTICLE_TOPIC,
    DIGEST_RUN,
    FEED,
    SIGHTING,
    SUBSCRIPTION,
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
        updated = self._session.execute(
            update(FEED).where(FEED.c.id == feed_id).values(paused=paused).returning(FEED.c.id)
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
        base = select(FEED.c.id, FEED.c.url, FEED.c.etag, FEED.c.last_modified).where(*conditions)
        if ids is None:
            return [convert.feed_source(r) for r in self._rows(base.order_by(FEED.c.id))]
        found: list[FeedSource] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            found.extend(
                convert.feed_source(r) for r in self._rows(base.where(FEED.c.id.in_(chunk)))
            )
        return sorted(found, key=lambda source: source.id)

    def record_fetch(self, outcome: FetchOutcome) -> None:
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
        updated = self._session.execute(
            update(FEED).where(FEED.c.id == outcome.feed_id).values(**values).returning(FEED.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise _no_feed(outcome.feed_id)

    # ------------------------------------------------------------------ articles

    def add_article(self, article: NewArticle) -> ArticleRef:
        """Insert once (race-free) and record the sighting by ``article.feed_id``."""
        inserted = self._session.execute(
            self._insert(ARTICLE)
            .values(
                url=article.url,
                canonical_url=article.canonical_url,
                content_hash=article.content_hash,
                title=article.title,
                published=article.published,
                author=article.author,
                summary=article.summary,
                content=article.content,
                categories=dump_strings(article.categories),
                first_seen=article.seen_at,
            )
            # No conflict target: either unique key (canonical URL or hash) means "known".
            .on_conflict_do_nothing()
            .returning(ARTICLE.c.id)
        ).scalar_one_or_none()
        article_id = inserted if inserted is not None else self._existing_article_id(article)

        sighting = self._insert(SIGHTING).values(
            article_id=article_id,
            feed_id=article.feed_id,
            entry_key=article.entry_key,
            first_seen=article.seen_at,
            last_seen=article.seen_at,
        )
        self._session.execute(
            sighting.on_conflict_do_update(
                index_elements=[SIGHTING.c.feed_id, SIGHTING.c.entry_key],
                set_={"last_seen": sighting.excluded.last_seen},
            )
        )
        return ArticleRef(id=article_id, created=inserted is not None)

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

    def pending_analysis(
        self, *, ids: Sequence[int] | None = None, limit: int = 100
    ) -> list[ArticleForAnalysis]:
        """Articles never analysed, oldest id first; ``ids`` narrows the candidates."""
        base = select(ARTICLE.c.id, ARTICLE.c.title, ARTICLE.c.content, ARTICLE.c.summary).where(
            ARTICLE.c.analyzed_at.is_(None)
        )
        rows: list[Any] = []
        if ids is None:
            rows = self._rows(base.order_by(ARTICLE.c.id).limit(limit))
        else:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                rows.extend(self._rows(base.where(ARTICLE.c.id.in_(chunk))))
            rows = sorted(rows, key=lambda r: r["id"])[:limit]
        return [
            ArticleForAnalysis(id=r["id"], title=r["title"], text=r["content"] or r["summary"])
            for r in rows
        ]

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
            run_id, status="sent", sent_at=sent_at, article_count=article_count, error=None
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


def _no_feed(feed_id: int) -> NotFound:
    return NotFound(f"no feed with id {feed_id} (see `newsmon feeds list`)")


def _no_subscription(name: str) -> NotFound:
    return NotFound(f"no subscription named {name!r} (see `newsmon subscriptions list`)")


if TYPE_CHECKING:
    # Let the type checker prove that the adapters satisfy the ports.
    def _conforms(store: SqlStore, repo: SqlRepository) -> tuple[Store, Repository]:
        return store, repo
