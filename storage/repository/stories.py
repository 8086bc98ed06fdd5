"""Stories and near-duplicates: candidates, assignment, the story-index lock."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    delete,
    distinct,
    func,
    select,
    update,
)

from feeds.dedup.stories import StoryCandidate
from feeds.errors import StorageError
from feeds.models import (
    ArticleForGrouping,
    DuplicateCandidate,
    StorySummary,
)
from storage import convert
from storage.repository.base import RepositoryBase, article_text_select, no_article, no_story
from storage.tables import (
    ARTICLE,
    ARTICLE_BAND,
    SIGHTING,
    STORY,
    STORY_TERM,
)


class StoryRows(RepositoryBase):
    def ungrouped_articles(
        self, *, ids: Sequence[int] | None = None, limit: int = 500
    ) -> list[ArticleForGrouping]:
        base = article_text_select(ARTICLE.c.published, ARTICLE.c.first_seen).where(
            ARTICLE.c.story_id.is_(None)
        )
        rows = self._oldest_articles(base, ids, limit)
        return [convert.article_for_grouping(r) for r in rows]

    def lock_story_index(self) -> None:
        # SQLite: the write transaction began with BEGIN IMMEDIATE, so it is alone already.
        if self._dialect == "postgresql":
            self._session.execute(select(func.pg_advisory_xact_lock(_STORY_LOCK_KEY)))

    def story_of(self, article_id: int) -> int | None:
        found = self._session.execute(
            select(ARTICLE.c.story_id).where(ARTICLE.c.id == article_id)
        ).one_or_none()
        if found is None:
            raise no_article(article_id)
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
        return [convert.duplicate_candidate(r) for r in rows]

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
        return [convert.story_candidate(r, _load_signature(r["signature"])) for r in rows]

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
            raise no_story(story_id)
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
        self._update_one(
            ARTICLE,
            ARTICLE.c.id == article_id,
            lambda: no_article(article_id),
            story_id=story_id,
            duplicate_of=duplicate_of,
        )
        self._session.execute(
            update(STORY).where(STORY.c.id == story_id).values(size=STORY.c.size + 1)
        )

    def list_stories(self, *, since: datetime | None = None, limit: int = 20) -> list[StorySummary]:
        stmt = select(STORY).order_by(STORY.c.size.desc(), STORY.c.last_time.desc(), STORY.c.id)
        if since is not None:
            stmt = stmt.where(STORY.c.last_time >= since)
        return self._summaries(self._rows(stmt.limit(limit)))

    def get_story(self, story_id: int) -> StorySummary:
        # The same summary as the list's (title, outlets), so `show` never disagrees with it.
        found = self._summaries(self._rows(select(STORY).where(STORY.c.id == story_id)))
        if not found:
            raise no_story(story_id)
        return found[0]

    def story_article_ids(self, story_id: int) -> list[int]:
        return [
            int(article_id)
            for article_id in self._session.execute(
                select(ARTICLE.c.id).where(ARTICLE.c.story_id == story_id).order_by(ARTICLE.c.id)
            ).scalars()
        ]

    def _summaries(self, stories: Sequence[Any]) -> list[StorySummary]:
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
            convert.story_summary(r, titles.get(r["id"], ""), int(outlets.get(r["id"], 0)))
            for r in stories
        ]


def _dump_signature(signature: dict[str, float]) -> str:
    return json.dumps(signature, separators=(",", ":"), sort_keys=True)


def _load_signature(text: str) -> dict[str, float]:
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise StorageError("a story signature in the database is not a JSON object")
    return {str(k): float(v) for k, v in loaded.items()}


# "newsmon-story" in ASCII, truncated to fit a bigint: the story-assignment lock.
_STORY_LOCK_KEY = 0x6E6577735F7374
