"""Articles and sightings: race-free inserts, streaming reads, retention and tombstones."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from feeds.errors import StorageError
from feeds.models import (
    ArticleRef,
    FeedRef,
    NewArticle,
    StoredArticle,
)
from storage import convert
from storage.coltypes import dump_strings
from storage.repository import base as repo_base
from storage.repository.base import RepositoryBase, chunks
from storage.tables import (
    ARTICLE,
    ARTICLE_ACTOR,
    ARTICLE_TOPIC,
    FEED,
    SIGHTING,
    TOMBSTONE,
)

V = TypeVar("V")


class ArticleRows(RepositoryBase):
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
        _, upsert_sighting = _article_statements(self._dialect)
        params = [_article_params(a) for a in articles]
        # RETURNING the identity keys tells which rows were inserted. Within one statement
        # a row that conflicts with an earlier row of the same batch is skipped, exactly
        # as the second of two single inserts would be.
        returned = self._session.execute(_batch_insert(self._dialect), params).all()
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
        for chunk in chunks(list(dict.fromkeys(values))):
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
        for chunk in chunks(list(dict.fromkeys(keys))):
            known.update(
                self._session.execute(
                    select(SIGHTING.c.entry_key).where(
                        SIGHTING.c.feed_id == feed_id, SIGHTING.c.entry_key.in_(chunk)
                    )
                ).scalars()
            )
        return known

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
        columns = stored_article_select().where(*conditions)

        if ids is not None:
            rows: list[Any] = []
            for chunk in chunks(list(dict.fromkeys(ids))):
                rows.extend(self._rows(columns.where(ARTICLE.c.id.in_(chunk))))
            rows.sort(key=lambda r: (r["first_seen"], r["id"]))
            for page in chunks(rows):
                yield from self._hydrate(page)
            return

        ordered = columns.order_by(ARTICLE.c.first_seen, ARTICLE.c.id).limit(repo_base.PAGE_SIZE)
        page = self._rows(ordered)
        while page:
            yield from self._hydrate(page)
            if len(page) < repo_base.PAGE_SIZE:
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
        topics = self._per_article(
            ARTICLE_TOPIC, ids, convert.topic, ARTICLE_TOPIC.c.score.desc(), ARTICLE_TOPIC.c.code
        )
        actors = self._per_article(
            ARTICLE_ACTOR, ids, convert.actor, ARTICLE_ACTOR.c.mentions.desc(), ARTICLE_ACTOR.c.name
        )
        for r in rows:
            article_id = r["id"]
            yield convert.stored_article(
                r,
                feeds=tuple(feeds[article_id].values()),
                topics=tuple(topics[article_id]),
                actors=tuple(actors[article_id]),
            )

    def _per_article(
        self, table: Table, ids: Sequence[int], make: Callable[[Any], V], *order: Any
    ) -> dict[int, list[V]]:
        """The rows of ``table`` about the articles ``ids``, made into values, by article;
        each article's in ``order``."""
        found: dict[int, list[V]] = defaultdict(list)
        stmt = select(table).where(table.c.article_id.in_(ids))
        for r in self._rows(stmt.order_by(table.c.article_id, *order)):
            found[r["article_id"]].append(make(r))
        return found

    def count_articles(self) -> int:
        return int(self._session.execute(select(func.count()).select_from(ARTICLE)).scalar_one())

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
        chunked = {kind: list(chunks(keys)) for kind, keys in by_kind.items()}
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
                .limit(repo_base.PAGE_SIZE)
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
            for chunk in chunks(ordered):
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


# Tombstones of any of three kinds of key; an empty list matches nothing.
_TOMBSTONE_LOOKUP = select(TOMBSTONE.c.kind, TOMBSTONE.c.key).where(
    or_(*(
        and_(TOMBSTONE.c.kind == kind, TOMBSTONE.c.key.in_(bindparam(kind, expanding=True)))
        for kind in ("hash", "entry", "url")
    ))
)  # fmt: skip


@functools.cache
def stored_article_select() -> Select[Any]:
    """The ``article`` columns a :class:`StoredArticle` is made of (with ``_hydrate``)."""
    return select(
        ARTICLE.c.id,
        ARTICLE.c.url,
        ARTICLE.c.title,
        ARTICLE.c.published,
        ARTICLE.c.first_seen,
        ARTICLE.c.summary,
        ARTICLE.c.analyzed_at,
        ARTICLE.c.story_id,
        ARTICLE.c.duplicate_of,
    )


@functools.cache
def _batch_insert(dialect: str) -> Any:
    """The article insert of ``add_articles``: it also returns each new row's keys."""
    insert_article, _ = _article_statements(dialect)
    return insert_article.returning(ARTICLE.c.canonical_url, ARTICLE.c.content_hash)


# Built once per dialect: a statement built anew is compiled anew (its cache key has to be
# worked out each time), which cost a tenth of a first poll's writes.
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
