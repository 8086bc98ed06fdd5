"""The ports the core needs; adapters live in ``storage`` and ``worker``.

The use cases in :mod:`feeds.pipeline` only ever see these protocols. A use case owns its
transaction: it opens ``store.transaction()`` and everything done through the yielded
:class:`Repository` commits together when the block ends without an exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from feeds.models import (
    AnalysisResult,
    ArticleForAnalysis,
    ArticleRef,
    DigestEmail,
    DigestRun,
    Document,
    FeedInfo,
    FeedSource,
    FetchOutcome,
    FetchResult,
    MentionSentiment,
    NewArticle,
    StoredArticle,
    Subscription,
    SubscriptionSpec,
    TargetInSentence,
    TargetSentiment,
    TargetSpan,
    WatchedActor,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Fetcher(Protocol):
    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` conditionally. Raises :class:`feeds.errors.FetchError`."""
        ...


class Analyzer(Protocol):
    def analyze(self, doc: Document) -> AnalysisResult:
        """Topics and per-actor sentiment of one document."""
        ...

    def target_sentiment(
        self, text: str, targets: Sequence[TargetSpan]
    ) -> list[TargetSentiment]:
        """Sentiment toward each span of ``text``, same order as ``targets``."""
        ...


class TargetSentimentModel(Protocol):
    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        """Sentiment toward each target, read with respect to it; same order as given."""
        ...


class Mailer(Protocol):
    def send(self, email: DigestEmail) -> None:
        """Deliver or raise :class:`feeds.errors.MailError`."""
        ...


class Repository(Protocol):
    """Everything the use cases read and write, inside one transaction."""

    # feeds
    def add_feed(self, url: str, title: str | None, now: datetime) -> FeedInfo: ...
    def get_feed(self, feed_id: int) -> FeedInfo: ...
    def list_feeds(self) -> list[FeedInfo]: ...
    def remove_feed(self, feed_id: int) -> None: ...
    def set_feed_paused(self, feed_id: int, paused: bool) -> None: ...
    def feed_sources(
        self, *, ids: Sequence[int] | None = None, due_before: datetime | None = None
    ) -> list[FeedSource]:
        """Active (unpaused) feeds; by id, or those due at ``due_before``, or all."""
        ...

    def record_fetch(self, outcome: FetchOutcome) -> None: ...

    # articles
    def add_article(self, article: NewArticle) -> ArticleRef:
        """Insert once (race-free) and record the sighting by ``article.feed_id``."""
        ...

    def known_entry_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already sighted in this feed (a fast path, not a guard)."""
        ...

    def pending_analysis(
        self, *, ids: Sequence[int] | None = None, limit: int = 100
    ) -> list[ArticleForAnalysis]: ...
    def save_analysis(
        self, article_id: int, result: AnalysisResult, analyzed_at: datetime
    ) -> None:
        """Replace the article's analysis (idempotent)."""
        ...

    def iter_articles(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Sequence[int] | None = None,
    ) -> Iterator[StoredArticle]:
        """Articles first seen in ``[since, until)``, oldest first."""
        ...

    def count_articles(self) -> int: ...

    # subscriptions and digests
    def add_subscription(self, spec: SubscriptionSpec, now: datetime) -> Subscription: ...
    def get_subscription(self, name: str) -> Subscription: ...
    def list_subscriptions(self) -> list[Subscription]: ...
    def remove_subscription(self, name: str) -> None: ...
    def claim_digest_run(
        self, subscription_id: int, period_key: str, message_id: str, now: datetime
    ) -> DigestRun | None:
        """Create the run for this period, or return the unsent one; None when already sent."""
        ...

    def mark_digest_sent(self, run_id: int, sent_at: datetime, article_count: int) -> None: ...
    def mark_digest_failed(self, run_id: int, error: str) -> None: ...
    def list_digest_runs(self, subscription_id: int | None = None) -> list[DigestRun]: ...

    # the user's part of the actor watchlist
    def save_watched_actor(self, actor: WatchedActor, now: datetime) -> None:
        """Insert or replace the entry with this name (names compare ignoring case)."""
        ...

    def list_watched_actors(self) -> list[WatchedActor]: ...
    def delete_watched_actor(self, name: str) -> None:
        """Raises :class:`feeds.errors.NotFound` when no entry has this name."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Repository]:
        """A unit of work; commits on normal exit, rolls back on an exception."""
        ...
