"""Feeds: the list, their schedules and fetch outcomes, their GUID trust."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    delete,
    distinct,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ClauseElement

from feeds.errors import AlreadyExists
from feeds.models import (
    FeedInfo,
    FeedSource,
    FetchOutcome,
)
from storage import convert
from storage.repository.base import RepositoryBase, chunks, no_feed
from storage.tables import (
    ARTICLE,
    FEED,
    FEED_IDENTITY,
    SIGHTING,
)


class FeedRows(RepositoryBase):
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
            raise no_feed(feed_id)
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
            raise no_feed(feed_id)

    def set_feed_paused(self, feed_id: int, paused: bool) -> None:
        values: dict[str, Any] = {"paused": paused}
        if not paused:
            # Resuming is also how a feed marked gone (410) is given another chance.
            gone = FEED.c.health == "gone"
            values["next_fetch_at"] = case((gone, None), else_=FEED.c.next_fetch_at)
            values["health"] = case((gone, "failing"), else_=FEED.c.health)
        self._update_one(FEED, FEED.c.id == feed_id, lambda: no_feed(feed_id), **values)

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
        for chunk in chunks(list(dict.fromkeys(ids))):
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
        self._update_one(
            FEED, FEED.c.id == outcome.feed_id, lambda: no_feed(outcome.feed_id), **values
        )

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

    def set_feed_full_text(self, feed_id: int, enabled: bool) -> None:
        self._update_one(FEED, FEED.c.id == feed_id, lambda: no_feed(feed_id), full_text=enabled)

    def postpone_feeds(self, ids: Sequence[int], until: datetime) -> None:
        """Set the next fetch of these feeds to ``until`` (a claim while a poll is queued)."""
        for chunk in chunks(list(dict.fromkeys(ids))):
            self._session.execute(
                update(FEED).where(FEED.c.id.in_(chunk)).values(next_fetch_at=until)
            )

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
        for chunk in chunks(list(dict.fromkeys(links))):
            for r in self._rows(
                select(ARTICLE.c.canonical_url, SIGHTING.c.entry_key)
                .join(ARTICLE, ARTICLE.c.id == SIGHTING.c.article_id)
                .where(SIGHTING.c.feed_id == feed_id, ARTICLE.c.canonical_url.in_(chunk))
            ):
                found[r["canonical_url"]].add(r["entry_key"])
        return dict(found)


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
