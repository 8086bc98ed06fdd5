"""What every area of the repository shares: the session, the dialect, small helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from feeds.errors import NotFound
from storage.tables import ARTICLE

# Rows per page when streaming articles, and ids per ``IN (…)`` list (SQLite caps the
# number of bound parameters per statement).
PAGE_SIZE = 500

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = PAGE_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RepositoryBase:
    """The session's transaction, shared by every area of :class:`SqlRepository`."""

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

    def _update_one(
        self,
        table: Table,
        where: ColumnElement[bool],
        missing: Callable[[], NotFound],
        /,
        **values: Any,
    ) -> None:
        """Set ``values`` on the row ``where`` picks; raise ``missing()`` when there is none
        (built only then: this runs once per fetched feed and analysed article)."""
        updated = self._session.execute(
            update(table).where(where).values(**values).returning(table.c.id)
        ).scalar_one_or_none()
        if updated is None:
            raise missing()

    def _oldest_articles(
        self, base: Select[Any], ids: Sequence[int] | None, limit: int
    ) -> list[Any]:
        """Rows of ``base`` (a select on ``article``), oldest id first, at most ``limit``;
        ``ids`` narrows the candidates (looked up in chunks, so any number may be given)."""
        if ids is None:
            return self._rows(base.order_by(ARTICLE.c.id).limit(limit))
        rows: list[Any] = []
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows.extend(self._rows(base.where(ARTICLE.c.id.in_(chunk))))
        return sorted(rows, key=lambda r: r["id"])[:limit]


def article_text_select(*columns: Any) -> Select[Any]:
    """A select on ``article`` of the id, the title and what is read of the text (the
    content, else the summary: :func:`storage.convert.article_text`), then ``columns``."""
    return select(ARTICLE.c.id, ARTICLE.c.title, ARTICLE.c.content, ARTICLE.c.summary, *columns)


def no_article(article_id: int) -> NotFound:
    return NotFound(f"no article with id {article_id}")


def no_feed(feed_id: int) -> NotFound:
    return NotFound(f"no feed with id {feed_id} (see `newsmon feeds list`)")


def no_story(story_id: int) -> NotFound:
    return NotFound(f"no story with id {story_id} (see `newsmon stories list`)")


def no_subscription(name: str) -> NotFound:
    return NotFound(f"no subscription named {name!r} (see `newsmon subscriptions list`)")
