"""The ports the core needs; adapters live in ``storage`` and ``worker``.

The use cases in :mod:`feeds.usecases.pipeline` only ever see these protocols. A use case owns its
transaction: it opens ``store.transaction()`` and everything done through the yielded
:class:`Repository` commits together when the block ends without an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from feeds.errors import ParseError
from feeds.models import (
    ActorMention,
    AnalysisResult,
    ArticleForAnalysis,
    ArticleForGrouping,
    ArticleRef,
    DigestEmail,
    DigestRun,
    Document,
    DuplicateCandidate,
    FeedInfo,
    FeedSource,
    FetchOutcome,
    FetchResult,
    HostGrant,
    MentionSentiment,
    NewArticle,
    StoredArticle,
    StorySummary,
    Subscription,
    SubscriptionSpec,
    TargetInSentence,
    TargetSentiment,
    TargetSpan,
    WatchedActor,
)

# Used in annotations only: imported for the type checker, so that importing the ports
# (every use case does) does not import the feed reader, the dedup and query machinery.
if TYPE_CHECKING:
    from feeds.dedup.keys import PreparedFeed, PrepareJob
    from feeds.dedup.stories import StoryCandidate
    from feeds.query import Need
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
    from feeds.user_topics import SearchDoc, UserTopic

K = TypeVar("K")


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


class HostLimiter(Protocol):
    """Per-host politeness: at most N requests in flight per host, a minimum spacing.

    Never blocks: a refused caller gets the time to wait and does other work meanwhile.
    Every granted token must be released; distributed implementations also let leases
    expire, so a killed worker cannot hold a slot forever.
    """

    def try_acquire(self, host: str) -> HostGrant: ...
    def release(self, host: str, token: str) -> None: ...
    def reserve(self, host: str, within: float | None = None) -> float | None:
        """Book the host's next free start after those already booked; returns the
        seconds from now until it, or None (nothing booked) when that is more than
        ``within`` seconds away. Queued polls (Celery) are scheduled for their booked
        time instead of asking again and again while the host is busy."""
        ...


class Analyzer(Protocol):
    def analyze(self, doc: Document) -> AnalysisResult:
        """Topics and per-actor sentiment of one document."""
        ...

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalysisResult]:
        """:meth:`analyze` for each document, in order; the same results, but the models
        may read several documents in one run."""
        ...

    def target_sentiment(self, text: str, targets: Sequence[TargetSpan]) -> list[TargetSentiment]:
        """Sentiment toward each span of ``text``, same order as ``targets``."""
        ...


class PreparePool(Protocol):
    """Worker processes that run :func:`feeds.dedup.keys.prepare_feed`, the pure part of
    ingest (parse, text, hashes, canonical URLs), for the one writer of a poll pass."""

    processes: int

    def prepare(
        self, jobs: Iterable[tuple[K, PrepareJob]]
    ) -> Iterator[tuple[K, PreparedFeed | ParseError, bool]]:
        """Prepare every job, each tagged with the caller's key, and yield (key, result,
        prepared elsewhere) as results are ready, not necessarily in order.

        ``jobs`` is pulled lazily on the caller's thread, and results are yielded between
        pulls, so the caller can go on fetching and writing while the processes work. A
        worker that dies costs nothing but time: its jobs are prepared in the calling
        process (as is any job while the processes are busy or broken)."""
        ...

    def start_workers(self) -> int:
        """Start the processes now; returns how many."""
        ...

    def close(self) -> None:
        """Stop the processes, waiting for them."""
        ...


class AnalysisPool(Protocol):
    """Analyses many documents in one call, for example spread over worker processes.

    The results are those :meth:`Analyzer.analyze` gives for each document, in order.
    """

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalysisResult]: ...

    def close(self) -> None:
        """Stop whatever processes the pool started."""
        ...


class TargetSentimentModel(Protocol):
    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        """Sentiment toward each target, read with respect to it; same order as given."""
        ...


class Mailer(Protocol):
    def send(self, email: DigestEmail) -> None:
        """Deliver or raise :class:`feeds.errors.MailError`."""
        ...


# The repository port, by area; storage/repository/ has one module per class below.


class FeedRepository(Protocol):
    """Feeds, their schedules and fetch outcomes, their GUID trust (feeds.dedup.guids)."""

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
    def record_fetches(self, outcomes: Sequence[FetchOutcome]) -> None: ...

    # full text, claims (see feeds.fetch.policy, docs/FETCHING.md)
    def set_feed_full_text(self, feed_id: int, enabled: bool) -> None: ...
    def postpone_feeds(self, ids: Sequence[int], until: datetime) -> None: ...
    # broken GUIDs
    def guids_broken(self, feed_id: int) -> bool:
        """Whether this feed's GUIDs were found unusable (a sticky per-feed flag)."""
        ...

    def mark_guids_broken(self, feed_id: int, reason: str, now: datetime) -> None: ...
    def sighted_keys_by_link(self, feed_id: int, links: Sequence[str]) -> dict[str, set[str]]:
        """Entry keys under which this feed already carried each canonical link."""
        ...


class ArticleRepository(Protocol):
    """Articles and sightings, inserted once; retention and its tombstones."""

    def add_article(self, article: NewArticle) -> ArticleRef:
        """Insert once (race-free) and record the sighting by ``article.feed_id``."""
        ...

    def add_articles(self, articles: Sequence[NewArticle]) -> list[ArticleRef]:
        """``add_article`` for each, in order, in a few statements (one feed's new entries)."""
        ...

    def known_entry_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` already sighted in this feed (a fast path, not a guard)."""
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

    def tombstoned(self, articles: Sequence[NewArticle]) -> set[str]:
        """Entry keys of ``articles`` whose identity was removed by retention."""
        ...

    def prune_articles(self, first_seen_before: datetime, now: datetime) -> int:
        """Delete articles first seen before the cutoff, leaving tombstones."""
        ...

    def count_tombstones(self) -> int: ...


class AnalysisRepository(Protocol):
    """What waits for analysis, and each article's analysis (feeds.usecases.analyze)."""

    def pending_analysis(
        self, *, ids: Sequence[int] | None = None, limit: int = 100
    ) -> list[ArticleForAnalysis]: ...
    def save_analysis(self, article_id: int, result: AnalysisResult, analyzed_at: datetime) -> None:
        """Replace the article's analysis (idempotent)."""
        ...

    def article_ids(
        self,
        *,
        since: datetime | None = None,
        pending: bool = False,
        feed_id: int | None = None,
    ) -> list[int]:
        """Ids of articles first seen on or after ``since`` (all if None), ascending;
        ``pending``: only those never analysed; ``feed_id``: only those that feed carried."""
        ...

    def articles_for_analysis(self, ids: Sequence[int]) -> list[ArticleForAnalysis]:
        """The analysis input of these articles, analysed or not, ascending by id."""
        ...


class StoryRepository(Protocol):
    """Near-duplicates and stories (feeds.usecases.group)."""

    def ungrouped_articles(
        self, *, ids: Sequence[int] | None = None, limit: int = 500
    ) -> list[ArticleForGrouping]:
        """Articles without a story yet, oldest id first; ``ids`` narrows the candidates."""
        ...

    def lock_story_index(self) -> None:
        """Serialise story assignment with other writers until the transaction ends."""
        ...

    def story_of(self, article_id: int) -> int | None: ...
    def duplicate_candidates(
        self,
        band_keys: Sequence[int],
        *,
        start: datetime,
        end: datetime,
        limit: int,
        exclude: int,
    ) -> list[DuplicateCandidate]:
        """Articles in ``[start, end]`` sharing a band, those sharing most bands first."""
        ...

    def index_bands(self, article_id: int, band_keys: Sequence[int], when: datetime) -> None: ...
    def story_candidates(
        self, terms: Sequence[str], *, start: datetime, end: datetime, limit: int
    ) -> list[StoryCandidate]:
        """Stories active in ``[start, end]`` indexed under any term, most shared first."""
        ...

    def create_story(
        self, when: datetime, signature: dict[str, float], index_terms: Sequence[str]
    ) -> int: ...
    def extend_story(
        self,
        story_id: int,
        when: datetime,
        *,
        signature: dict[str, float] | None,
        index_terms: Sequence[str] | None,
    ) -> None:
        """One more article: widen the time span, count it, replace signature and terms."""
        ...

    def assign_story(self, article_id: int, story_id: int, *, duplicate_of: int | None) -> None: ...
    def list_stories(self, *, since: datetime | None = None, limit: int = 20) -> list[StorySummary]:
        """The largest stories active since ``since``, largest first."""
        ...

    def get_story(self, story_id: int) -> StorySummary:
        """One story, summarised as :meth:`list_stories` does; NotFound when there is none."""
        ...

    def story_article_ids(self, story_id: int) -> list[int]:
        """The ids of the story's articles (copies included), lowest first."""
        ...


class DigestRepository(Protocol):
    """Subscriptions and the digest outbox."""

    def add_subscription(self, spec: SubscriptionSpec, now: datetime) -> Subscription: ...
    def get_subscription(self, name: str) -> Subscription: ...
    def list_subscriptions(self) -> list[Subscription]: ...
    def remove_subscription(self, name: str) -> None: ...
    def mark_digest_sent(self, run_id: int, sent_at: datetime, article_count: int) -> None: ...
    def mark_digest_failed(self, run_id: int, error: str) -> None: ...
    def list_digest_runs(self, subscription_id: int | None = None) -> list[DigestRun]: ...

    # filters, pause, the leased outbox (docs/DIGESTS.md)
    def get_subscription_by_id(self, subscription_id: int) -> Subscription: ...
    def update_subscription(self, spec: SubscriptionSpec) -> Subscription: ...
    def set_subscription_paused(self, name: str, paused: bool) -> None: ...
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
        """Create the outbox row if needed; try to lease it. Returns (row, leased)."""
        ...

    def record_delivery(self, run_id: int, recipient: str) -> None: ...
    def mark_digest_retry(
        self, run_id: int, owner: str, error: str, next_attempt_at: datetime | None
    ) -> None: ...
    def mark_digest_skipped(self, run_id: int, now: datetime) -> None: ...
    def recent_digest_runs(
        self, since: datetime, keys: Sequence[str] | None = None
    ) -> list[DigestRun]: ...


class TopicRepository(Protocol):
    """User topics (named monitoring queries) and the text index they search."""

    def add_user_topic(self, name: str, query: str, now: datetime) -> UserTopic: ...
    def get_user_topic(self, name: str) -> UserTopic: ...
    def list_user_topics(self) -> list[UserTopic]: ...
    def remove_user_topic(self, name: str) -> None:
        """Delete the topic and its matches."""
        ...

    def refresh_search_index(self) -> int:
        """Index the articles not indexed yet; returns how many."""
        ...

    def search_candidates(
        self, need: Need, since: datetime | None, newest: int | None = None
    ) -> list[SearchDoc]:
        """Articles first seen since ``since`` holding the needed words, oldest first
        (only the ``newest`` of them when given)."""
        ...

    def replace_topic_matches(
        self, topic: UserTopic, article_ids: Sequence[int], since: datetime | None
    ) -> None:
        """Make ``article_ids`` the topic's matches among the articles seen since ``since``."""
        ...


class ActorRepository(Protocol):
    """The user's part of the actor watchlist, and the mentions digests read."""

    def save_watched_actor(self, actor: WatchedActor, now: datetime) -> None:
        """Insert or replace the entry with this name (names compare ignoring case)."""
        ...

    def list_watched_actors(self) -> list[WatchedActor]: ...
    def delete_watched_actor(self, name: str) -> None:
        """Raises :class:`feeds.errors.NotFound` when no entry has this name."""
        ...

    def actor_mentions(
        self, names: Sequence[str], since: datetime, until: datetime
    ) -> list[ActorMention]: ...


class ReportRepository(Protocol):
    """The read side of the dashboard and the API (feeds.usecases.insights): listings,
    series over time and totals. Each bounded by a window or a limit, so its cost is too."""

    def find_articles(
        self, where: ArticleFilter, *, after: tuple[datetime, int] | None, limit: int
    ) -> list[StoredArticle]:
        """Articles matching ``where``, newest first (``first_seen``, then id, descending);
        ``after`` is the (first_seen, id) of the last article of the previous page."""
        ...

    def article_volume(
        self, since: datetime, until: datetime, bucket: Bucket, *, topic: str | None = None
    ) -> list[VolumePoint]:
        """Articles first seen per bucket (only those under ``topic`` if given); empty
        buckets are left out."""
        ...

    def actor_series(
        self, name: str, since: datetime, until: datetime, bucket: Bucket
    ) -> list[ActorPoint]: ...
    def actor_totals(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int,
        names: Sequence[str] | None = None,
        min_articles: int = 1,
    ) -> list[ActorTotal]:
        """Actors by articles mentioning them in the window, most first."""
        ...

    def co_actors(
        self, name: str, since: datetime, until: datetime, limit: int
    ) -> list[CoActor]: ...
    def actor_evidence(
        self, name: str, since: datetime, until: datetime, limit: int
    ) -> list[EvidenceItem]:
        """The newest readings of the actor that carry evidence sentences."""
        ...

    def topic_totals(self, since: datetime, until: datetime) -> list[TopicTotal]: ...
    def feed_problems(self, limit: int) -> list[FeedInfo]:
        """Feeds whose health is not "ok", gone and failing first."""
        ...


class Repository(
    FeedRepository,
    ArticleRepository,
    AnalysisRepository,
    StoryRepository,
    DigestRepository,
    TopicRepository,
    ActorRepository,
    ReportRepository,
    Protocol,
):
    """Everything the use cases read and write, inside one transaction."""


class Store(Protocol):
    def transaction(self, *, readonly: bool = False) -> AbstractContextManager[Repository]:
        """A unit of work; commits on normal exit, rolls back on an exception.

        ``readonly``: the block only reads, so it need not hold the write lock (SQLite
        starts a deferred transaction; a dashboard's reads never queue behind a poll)."""
        ...
