"""The SQL implementation of :class:`feeds.ports.Store` and :class:`feeds.ports.Repository`.

One module per area, as the port is split (:mod:`feeds.ports`): ``feeds``, ``articles``,
``analysis``, ``stories``, ``digests``, ``topics`` (with ``search``, the full-text index),
``actors`` and ``reports`` (the dashboard's read side); ``base`` holds what they share
and :mod:`storage.convert` every row mapper. :class:`SqlRepository` is all of them over
one session.

Design decisions:

* **Race-free inserts.** Several processes may insert the same article at once (two feeds
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
  it commits. On PostgreSQL two such transactions adding overlapping articles in opposite
  orders can deadlock; the server then aborts one, which surfaces as
  :class:`feeds.errors.StorageConflict` and can simply be retried. Callers that batch
  should add articles in a stable order or commit per article. The order must follow the
  key the rows collide on: copies of a wire article share a canonical URL but not a hash, so
  a batch sorted by ``content_hash`` orders the same URLs differently in every feed (the
  pipeline sorts by canonical URL first, and runs a write aborted this way once more).
* **Errors.** Driver errors are wrapped once, in :meth:`SqlStore.transaction`, as
  :class:`feeds.errors.StorageError`. Missing rows raise :class:`feeds.errors.NotFound`
  with a message that tells the user how to list what exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from sqlalchemy.orm import Session

from feeds.errors import StorageConflict, StorageError
from storage.db import READONLY_OPTION, connection_failure, safe_url
from storage.repository.actors import ActorRows
from storage.repository.analysis import AnalysisRows
from storage.repository.articles import ArticleRows
from storage.repository.digests import DigestRows
from storage.repository.feeds import FeedRows
from storage.repository.reports import ReportRows
from storage.repository.stories import StoryRows
from storage.repository.topics import TopicRows

if TYPE_CHECKING:
    from feeds import ports

__all__ = ["SqlRepository", "SqlStore"]

# SQLSTATEs of a transaction PostgreSQL aborted for a concurrent one: deadlock detected,
# serialization failure. Both leave nothing behind, so the unit of work may run again.
_CONFLICTS = frozenset({"40P01", "40001"})


class SqlRepository(
    ReportRows, FeedRows, ArticleRows, AnalysisRows, StoryRows, DigestRows, TopicRows, ActorRows
):
    """Every :class:`feeds.ports.Repository` method, inside one session's transaction."""


class SqlStore:
    """A :class:`feeds.ports.Store` on an engine from :func:`storage.db.make_engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._readonly_engine = engine.execution_options(**{READONLY_OPTION: True})

    @property
    def engine(self) -> Engine:
        return self._engine

    def where(self) -> str:
        """The database's URL with its password masked (``status`` and ``init`` say it)."""
        return safe_url(self._engine)

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
            if getattr(exc.orig, "sqlstate", None) in _CONFLICTS:
                raise StorageConflict(
                    f"a concurrent transaction conflicted with this one ({exc.orig}); "
                    "nothing of it was kept and running it again is safe"
                ) from exc
            raise StorageError(connection_failure(self._engine, exc)) from exc
        except SqlTimeoutError as exc:
            # Every pooled connection is busy (a burst of web requests): try again soon.
            raise StorageError(connection_failure(self._engine, exc)) from exc
        except StatementError as exc:
            # Raised before reaching the database, e.g. a naive datetime refused by
            # UTCDateTime: a caller's bug, so it keeps its own type.
            if isinstance(exc.orig, ValueError | TypeError):
                raise exc.orig from exc
            raise StorageError(connection_failure(self._engine, exc)) from exc


if TYPE_CHECKING:
    # Let the type checker prove that the adapters satisfy the ports.
    def _conforms(store: SqlStore, repo: SqlRepository) -> tuple[ports.Store, ports.Repository]:
        return store, repo

    # ...area by area: each module implements its part of the port.
    def _areas(
        feeds: FeedRows,
        articles: ArticleRows,
        analysis: AnalysisRows,
        stories: StoryRows,
        digests: DigestRows,
        topics: TopicRows,
        actors: ActorRows,
        reports: ReportRows,
    ) -> tuple[
        ports.FeedRepository,
        ports.ArticleRepository,
        ports.AnalysisRepository,
        ports.StoryRepository,
        ports.DigestRepository,
        ports.TopicRepository,
        ports.ActorRepository,
        ports.ReportRepository,
    ]:
        return feeds, articles, analysis, stories, digests, topics, actors, reports
