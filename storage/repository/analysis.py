"""The analysis stage's reads and writes: what is pending, and each article's analysis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    delete,
    select,
    update,
)

from feeds.models import (
    AnalysisResult,
    ArticleForAnalysis,
)
from storage import convert
from storage.coltypes import dump_strings
from storage.repository.base import RepositoryBase, article_text_select, no_article
from storage.tables import (
    ARTICLE,
    ARTICLE_ACTOR,
    ARTICLE_TOPIC,
    SIGHTING,
)


class AnalysisRows(RepositoryBase):
    def pending_analysis(
        self, *, ids: Sequence[int] | None = None, limit: int = 100
    ) -> list[ArticleForAnalysis]:
        """Articles never analysed, oldest id first; ``ids`` narrows the candidates."""
        base = _analysis_input().where(ARTICLE.c.analyzed_at.is_(None))
        return [convert.article_for_analysis(r) for r in self._oldest_articles(base, ids, limit)]

    def save_analysis(self, article_id: int, result: AnalysisResult, analyzed_at: datetime) -> None:
        """Replace the article's analysis (idempotent)."""
        # first_seen comes back with the update: the analysis rows carry it (seen_at) so
        # that series over time read one index (migration 9_series_index).
        seen_at = self._session.execute(
            update(ARTICLE)
            .where(ARTICLE.c.id == article_id)
            .values(analyzed_at=analyzed_at)
            .returning(ARTICLE.c.first_seen)
        ).scalar_one_or_none()
        if seen_at is None:
            raise no_article(article_id)
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
                    {
                        "article_id": article_id,
                        "code": t.code,
                        "label": t.label,
                        "score": t.score,
                        "seen_at": seen_at,
                    }
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
                        "seen_at": seen_at,
                    }
                    for a in actors.values()
                ],
            )

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
        return [convert.article_for_analysis(r) for r in rows]


def _analysis_input() -> Select[Any]:
    """The columns an analysis reads (see :class:`ArticleForAnalysis`)."""
    return article_text_select(ARTICLE.c.author, ARTICLE.c.url)
