"""The use cases, as sequences of ports.

Every driver calls these and nothing else: the embedded scheduler (``newsmon run``), the
one-shot CLI (``newsmon poll``, ``newsmon digest send``) and the Celery tasks. The flow::

    poll_pass(sources):
        for each source, concurrently,
        within each host's limits:       fetch (conditional GET)        -- HostLimiter, Fetcher
        as each fetch completes:         ingest(source, fetched)
            same body as last time? -> not modified                      -- pure
            parse -> typed entries                                       -- pure
            identity keys, canonical URL, content hash                   -- pure (dedup)
            skip entries already sighted or tombstoned                   -- Repository
            full text of new entries (feeds with the switch on)          -- Fetcher, pure
            next fetch, interval, failure score, health, redirect        -- pure (fetch_policy)
            in one transaction: insert new articles once, record
            sightings and the feed's status                              -- Repository
        analyse the pass's new articles                                  -- Analyzer

    analyze_pending(ids):
        read the articles (short transaction), analyse them outside any transaction
        (analysis is slow and must not hold SQLite's write lock), save the results
        (second transaction; saving replaces, so a repeat changes nothing)

    send_digest(name, period):                          -- feeds.usecases.deliver (the outbox)
        lease the (subscription, period) run -- nothing if sent or leased
        select + group + render                                          -- pure (digest)
        send each recipient's copy, recording each                       -- Mailer
        mark sent / skipped / failed with a retry time

Fetch and parse failures are recorded on the feed and reported, never raised: one bad feed
must not stop a pass. Storage failures propagate; the driver decides about retries.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from feeds.dedup.guids import pairs_problem
from feeds.dedup.keys import (
    PreparedFeed,
    PrepareJob,
    insert_order,
    prepare_in_process,
    prepare_job,
    unique_by_key,
)
from feeds.digest.unsubscribe import UnsubscribeConfig
from feeds.errors import FetchError, ParseError, StorageConflict
from feeds.fetch.fulltext import with_full_text
from feeds.fetch.policy import PollObservation, PollPolicy, classify_failure, decide
from feeds.fetch.politeness import HostBusy, LocalHostLimiter, host_key, run_politely
from feeds.models import (
    AnalysisResult,
    Document,
    FeedSource,
    FetchOutcome,
    FetchResult,
    NewArticle,
    Period,
)
from feeds.ports import (
    AnalysisPool,
    Analyzer,
    Clock,
    Fetcher,
    HostLimiter,
    Mailer,
    PreparePool,
    Repository,
    Store,
)
from feeds.usecases.analyze import analyze_articles
from feeds.usecases.deliver import DeliverySettings, DigestOutcome, DigestPreview, DigestService

__all__ = [
    "DigestOutcome",
    "DigestPreview",
    "PassReport",
    "Pipeline",
    "PollReport",
]

# Unchanged feeds' schedules written per transaction at most, and at least this often.
_SCHEDULE_BATCH = 200
_SCHEDULE_BATCH_SECONDS = 2.0

# Below this many feeds a pass prepares in-process: starting worker processes would cost
# more than they save.
_POOL_MIN_FEEDS = 8
_WRITE_ATTEMPTS = 3  # a write aborted for a concurrent one (StorageConflict), at most

# "deferred": the feed's host had no free slot; poll again after ``PollReport.retry_in``.
PollStatus = Literal["ok", "not_modified", "failed", "deferred"]


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    status: PollStatus
    new_article_ids: tuple[int, ...] = ()
    entries: int = 0
    error: str | None = None
    retry_in: float | None = None  # seconds, when deferred


@dataclass(frozen=True, slots=True)
class PassReport:
    feeds: tuple[PollReport, ...]
    analyzed: int = 0
    offloaded: int = 0  # documents parsed and prepared by worker processes

    def count(self, status: PollStatus) -> int:
        return sum(1 for r in self.feeds if r.status == status)

    @property
    def new_articles(self) -> int:
        return sum(len(r.new_article_ids) for r in self.feeds)


@dataclass
class Pipeline:
    """The use cases, bound to their ports. Built once per process by ``worker.bootstrap``."""

    store: Store
    fetcher: Fetcher
    analyzer: Analyzer
    clock: Clock
    mailer: Mailer
    mail_from: str
    message_id_domain: str
    poll_interval: timedelta = timedelta(minutes=30)
    retry_interval: timedelta = timedelta(minutes=30)
    fetch_concurrency: int = 8
    unsubscribe: UnsubscribeConfig | None = None
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    # Fetch scheduling and politeness (see feeds.fetch.policy, feeds.fetch.politeness).
    policy: PollPolicy | None = None  # None: defaults around poll_interval/retry_interval
    host_limiter: HostLimiter | None = None  # None: in-process, 2 per host, 1 s apart
    jitter: Callable[[], float] = random.random
    claim_window: timedelta = timedelta(minutes=10)  # a queued poll holds its feed this long
    full_text_per_poll: int = 10  # article pages fetched per poll at most
    # Worker processes that parse and prepare fetched documents; None: this process.
    ingest_pool: PreparePool | None = None
    # Analyses big batches elsewhere (worker processes); None: here, with ``analyzer``.
    analysis_pool: AnalysisPool | None = None

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = PollPolicy(
                default_interval=self.poll_interval,
                min_interval=min(timedelta(minutes=10), self.poll_interval),
                retry_interval=self.retry_interval,
            )
        if self.host_limiter is None:
            self.host_limiter = LocalHostLimiter()

    @property
    def limiter(self) -> HostLimiter:
        if self.host_limiter is None:  # set in __post_init__
            raise RuntimeError("Pipeline.host_limiter is not set")
        return self.host_limiter

    @property
    def _policy(self) -> PollPolicy:
        if self.policy is None:  # set in __post_init__
            raise RuntimeError("Pipeline.policy is not set")
        return self.policy

    # ------------------------------------------------------------------ polling

    def due_feeds(self) -> list[FeedSource]:
        with self.store.transaction() as repo:
            return repo.feed_sources(due_before=self.clock.now())

    def sources(self, ids: Sequence[int] | None = None) -> list[FeedSource]:
        """Active feeds: those with these ids (every one must exist), or all."""
        with self.store.transaction() as repo:
            found = repo.feed_sources(ids=ids)
            if ids and len(found) < len(set(ids)):
                # Paused, or missing: the look-up raises NotFound (with a helpful message)
                # for a missing one. Only then, as every Celery poll asks for one feed.
                for feed_id in ids:
                    repo.get_feed(feed_id)
            return found

    def claim_due_feeds(self) -> list[FeedSource]:
        """The due feeds, each postponed by ``claim_window`` so that the next scheduler
        tick does not queue them again while their polls wait in the queue; the poll sets
        the real next fetch. A poll lost with its worker is retried after the window."""
        now = self.clock.now()
        with self.store.transaction() as repo:
            due = repo.feed_sources(due_before=now)
            repo.postpone_feeds([s.id for s in due], now + self.claim_window)
        return due

    def poll_feeds(self, feed_ids: Sequence[int], *, patience: float) -> PassReport:
        """Poll these feeds in one pass without analysing (a queued batch). Feeds paused
        or removed since they were queued are skipped; a feed whose host stays busy for
        longer than ``patience`` seconds is reported ``deferred``, not waited for."""
        with self.store.transaction() as repo:
            sources = repo.feed_sources(ids=list(feed_ids))
        return self.poll_pass(sources, analyze=False, patience=patience)

    def poll_feed(self, feed_id: int) -> PollReport:
        """Poll one feed now (it must exist and not be paused) without analysing.

        Takes a lease on the feed's host first; when the host is busy nothing is fetched
        and the report says ``deferred`` with the seconds to wait (``retry_in``).
        """
        sources = self.sources([feed_id])
        if not sources:
            return PollReport(feed_id, "", "failed", error="feed is paused")
        source = sources[0]
        host = host_key(source.url)
        grant = self.limiter.try_acquire(host)
        if grant.token is None:
            return PollReport(feed_id, source.url, "deferred", retry_in=grant.wait)
        try:
            fetched = self._fetch(source)
        finally:
            self.limiter.release(host, grant.token)
        return self.ingest(source, fetched)

    def poll_pass(
        self,
        sources: Sequence[FeedSource],
        *,
        analyze: bool = True,
        patience: float | None = None,
    ) -> PassReport:
        """Fetch concurrently within the host limits, ingest each as it arrives, then
        analyse the new articles.

        Ingest writes on the calling thread only, so the database sees one writer per
        process however many fetches are in flight. With an ``ingest_pool`` the pure
        part of ingest (parsing, normalising, hashing, canonical URLs) runs in its
        worker processes; fetching, the host limits and every read and write of the
        store stay here, so dedup across feeds is decided by the one writer as before.

        ``patience``: how long a busy host is waited for (None: as long as it takes); a
        feed whose host stays busy longer is reported ``deferred`` with the wait.
        """
        reports: list[PollReport] = []
        # Unchanged feeds only need their schedule written; those writes are gathered and
        # committed together (a 304 costs less than its own transaction). Losing a batch
        # to a crash only means those feeds are polled again early.
        unchanged: list[FetchOutcome] = []
        flushed = time.monotonic()

        def documents() -> Iterator[tuple[_Waiting, PrepareJob]]:
            """Fetch; settle what needs no parsing; hand on the documents that do."""
            nonlocal flushed
            fetched: FetchResult | FetchError | HostBusy
            for source, fetched in run_politely(
                sources,
                host_of=lambda s: host_key(s.url),
                limiter=self.limiter,
                work=self._fetch,
                workers=min(self.fetch_concurrency, max(1, len(sources))),
                defer=None if patience is None else (patience, _busy),
            ):
                if isinstance(fetched, HostBusy):
                    reports.append(
                        PollReport(source.id, source.url, "deferred", retry_in=fetched.wait)
                    )
                    continue
                now = self.clock.now()
                report, body_hash = self._settle(source, fetched, now, unchanged)
                if report is not None:
                    reports.append(report)
                else:
                    assert isinstance(fetched, FetchResult)  # _settle reported failures
                    waiting = _Waiting(source, fetched, now, body_hash)
                    yield waiting, waiting.job()
                if len(unchanged) >= _SCHEDULE_BATCH or (
                    unchanged and time.monotonic() - flushed > _SCHEDULE_BATCH_SECONDS
                ):
                    self._record_unchanged(unchanged)
                    flushed = time.monotonic()

        pool = self.ingest_pool if len(sources) >= _POOL_MIN_FEEDS else None
        prepare = pool.prepare if pool is not None else prepare_in_process
        offloaded = 0
        try:
            # Writes happen here, on the calling thread, whoever prepared the document.
            for waiting, prepared, elsewhere in prepare(documents()):
                reports.append(self._store_prepared(waiting, prepared))
                offloaded += elsewhere
        finally:
            self._record_unchanged(unchanged)
        reports.sort(key=lambda r: r.feed_id)
        analyzed = 0
        if analyze:
            new_ids = [i for r in reports for i in r.new_article_ids]
            if new_ids:
                analyzed = self.analyze_pending(ids=new_ids)
        return PassReport(tuple(reports), analyzed, offloaded)

    @property
    def ingest_processes(self) -> int:
        """Processes preparing fetched documents (1: this one)."""
        return self.ingest_pool.processes if self.ingest_pool is not None else 1

    def start_workers(self) -> int:
        """Start the ingest worker processes now rather than in the first pass; returns
        how many (0 without a pool)."""
        return self.ingest_pool.start_workers() if self.ingest_pool is not None else 0

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        for pool in (self.analysis_pool, self.ingest_pool):
            if pool is not None:
                pool.close()

    def _fetch(self, source: FeedSource) -> FetchResult | FetchError:
        try:
            return self.fetcher.fetch(
                source.url, etag=source.etag, last_modified=source.last_modified
            )
        except FetchError as exc:
            return exc

    def _record_unchanged(self, outcomes: list[FetchOutcome]) -> None:
        if outcomes:
            with self.store.transaction() as repo:
                repo.record_fetches(outcomes)
            outcomes.clear()

    def ingest(
        self,
        source: FeedSource,
        fetched: FetchResult | FetchError,
        *,
        unchanged: list[FetchOutcome] | None = None,
    ) -> PollReport:
        """Record one fetch: parse, deduplicate, store and schedule the next; one transaction
        for the writes. With ``unchanged``, the schedule of an unchanged feed is appended
        there for the caller to write with others instead of in its own transaction."""
        now = self.clock.now()
        report, body_hash = self._settle(source, fetched, now, unchanged)
        if report is not None:
            return report
        assert isinstance(fetched, FetchResult)  # _settle reported every failure
        waiting = _Waiting(source, fetched, now, body_hash)
        return self._store_prepared(waiting, prepare_job(waiting.job()))

    def _settle(
        self,
        source: FeedSource,
        fetched: FetchResult | FetchError,
        now: datetime,
        unchanged: list[FetchOutcome] | None,
    ) -> tuple[PollReport | None, str | None]:
        """Record a failed or unchanged fetch (the report), else the body's hash for a
        document that needs parsing (no report)."""
        if isinstance(fetched, FetchError):
            report = self._record_failure(source, now, fetched, getattr(fetched, "status", None))
            return report, None
        body_hash = hashlib.sha256(fetched.content).hexdigest() if fetched.content else None
        if fetched.status == "not_modified" or (body_hash and body_hash == source.body_hash):
            # An unchanged body is as good as a 304: nothing to parse.
            seen = self._observation("not_modified", fetched)
            outcome = self._outcome(source, now, seen, fetched)
            if unchanged is not None:
                unchanged.append(outcome)
            else:
                with self.store.transaction() as repo:
                    repo.record_fetch(outcome)
            return PollReport(source.id, source.url, "not_modified"), None
        return None, body_hash

    def _store_prepared(self, waiting: _Waiting, prepared: PreparedFeed | ParseError) -> PollReport:
        """Deduplicate a prepared document against the store and write what is new.

        A write that lost a lock race to another worker is run again here, with the
        document in hand: a task retry would fetch the feed again, without validators."""
        for attempt in range(1, _WRITE_ATTEMPTS):
            try:
                return self._store_once(waiting, prepared)
            except StorageConflict:
                _pause(0.05 * attempt * (1.0 + random.random()))
        return self._store_once(waiting, prepared)  # the last attempt's conflict propagates

    def _store_once(self, waiting: _Waiting, prepared: PreparedFeed | ParseError) -> PollReport:
        source, fetched, now = waiting.source, waiting.fetched, waiting.now
        if isinstance(prepared, ParseError):
            return self._record_failure(source, now, prepared, fetched.http_status)
        with self.store.transaction() as repo:
            use_guid = _guids_usable(repo, source.id, prepared.guid_links, now)
            candidates = unique_by_key(prepared.keyed(use_guid=use_guid))
            candidates.sort(key=insert_order)
            known = repo.known_entry_keys(source.id, [c.entry_key for c in candidates])
            fresh = [c for c in candidates if c.entry_key not in known]
            removed = repo.tombstoned(fresh) if fresh else set()
            fresh = [c for c in fresh if c.entry_key not in removed]
            if not source.full_text:
                # Nothing to fetch between reading and writing: one transaction does both.
                new_ids = self._write(
                    repo, source, fetched, now, waiting.body_hash, prepared, len(candidates), fresh
                )
        if source.full_text:
            # Article pages are fetched outside any transaction (SQLite's write lock).
            fresh = with_full_text(fresh, self.fetcher, self.limiter, self.full_text_per_poll)
            with self.store.transaction() as repo:
                new_ids = self._write(
                    repo, source, fetched, now, waiting.body_hash, prepared, len(candidates), fresh
                )
        return PollReport(source.id, source.url, "ok", tuple(new_ids), prepared.entries)

    def _write(
        self,
        repo: Repository,
        source: FeedSource,
        fetched: FetchResult,
        now: datetime,
        body_hash: str | None,
        prepared: PreparedFeed,
        entries: int,
        fresh: list[NewArticle],
    ) -> list[int]:
        seen = replace(
            self._observation("ok", fetched),
            entries=entries,
            new_entries=len(fresh),
            ttl_minutes=prepared.ttl_minutes,
            skip_hours=prepared.skip_hours,
        )
        outcome = self._outcome(
            source, now, seen, fetched, title=prepared.title, site_url=prepared.link
        )
        new_ids = [ref.id for ref in repo.add_articles(fresh) if ref.created]
        repo.record_fetch(replace(outcome, body_hash=body_hash))
        return new_ids

    @staticmethod
    def _observation(kind: Literal["ok", "not_modified"], fetched: FetchResult) -> PollObservation:
        return PollObservation(
            kind=kind,
            http_status=fetched.http_status,
            max_age=fetched.max_age,
            final_url=fetched.url,
            permanent_redirect=fetched.permanent_redirect,
        )

    def _outcome(
        self,
        source: FeedSource,
        now: datetime,
        seen: PollObservation,
        fetched: FetchResult | None = None,
        *,
        error: str | None = None,
        title: str | None = None,
        site_url: str | None = None,
    ) -> FetchOutcome:
        decision = decide(source, seen, now, self._policy, jitter_sample=self.jitter())
        return FetchOutcome(
            feed_id=source.id,
            fetched_at=now,
            next_fetch_at=decision.next_fetch_at,
            ok=seen.kind != "failed",
            http_status=seen.http_status,
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            error=error,
            title=title,
            site_url=site_url,
            interval_seconds=decision.interval_seconds,
            failure_score=decision.failure_score,
            health=decision.health,
            redirect_url=decision.redirect_url,
            redirect_count=decision.redirect_count,
            new_url=decision.new_url,
        )

    def _record_failure(
        self,
        source: FeedSource,
        now: datetime,
        error: FetchError | ParseError,
        http_status: int | None,
    ) -> PollReport:
        seen = PollObservation(
            kind="failed",
            http_status=http_status,
            failure=classify_failure(error),
            retry_after=getattr(error, "retry_after", None),
        )
        with self.store.transaction() as repo:
            repo.record_fetch(self._outcome(source, now, seen, error=str(error)))
        return PollReport(source.id, source.url, "failed", error=str(error))

    # ------------------------------------------------------------------ analysis

    def pending_of_feed(self, feed_id: int) -> list[int]:
        """Articles this feed carried that still wait for analysis (for a poll that runs
        again after its previous run died between storing them and handing them on)."""
        with self.store.transaction() as repo:
            return repo.article_ids(pending=True, feed_id=feed_id)

    def analyze_documents(self, docs: Sequence[Document]) -> list[AnalysisResult]:
        """Each document's analysis, in order: in the pool when there is one."""
        if self.analysis_pool is not None:
            return self.analysis_pool.analyze_many(docs)
        return self.analyzer.analyze_many(docs)

    def analyze_pending(self, *, ids: Sequence[int] | None = None, limit: int = 500) -> int:
        """Analyse articles that have no analysis yet; returns how many were analysed."""
        return analyze_articles(
            self.store, self.analyze_documents, self.clock, ids, pending_only=True, batch=limit
        )

    # ------------------------------------------------------------------ digests
    # The digest and alert use cases live in feeds.usecases.deliver; these keep the entry points
    # every driver already calls.

    def digests(self) -> DigestService:
        return DigestService(
            store=self.store,
            clock=self.clock,
            mailer=self.mailer,
            mail_from=self.mail_from,
            message_id_domain=self.message_id_domain,
            unsubscribe=self.unsubscribe,
            settings=self.delivery,
        )

    def due_digests(self) -> list[tuple[str, Period]]:
        """The (subscription, period) pairs to send now (see DigestService.due)."""
        return self.digests().due()

    def send_digest(self, name: str, period: Period | None = None) -> DigestOutcome:
        """Send the digest of ``period`` (default: the last completed one) via the outbox."""
        return self.digests().send(name, period)

    def send_due_digests(self) -> list[DigestOutcome]:
        return self.digests().send_due()

    def preview_digest(self, name: str) -> DigestPreview:
        """What the next digest holds so far: from the end of the last period until now."""
        return self.digests().preview(name)

    def send_spike_alerts(self) -> list[DigestOutcome]:
        return self.digests().check_spikes()


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A fetched document on its way to being stored."""

    source: FeedSource
    fetched: FetchResult
    now: datetime
    body_hash: str | None

    def job(self) -> PrepareJob:
        fetched = self.fetched
        return PrepareJob(
            fetched.content, fetched.url, fetched.content_type, self.source.id, self.now
        )


def _guids_usable(
    repo: Repository, feed_id: int, pairs: Sequence[tuple[str, str]], now: datetime
) -> bool:
    """Whether this feed's entries may be keyed by GUID (``pairs``: their (guid, canonical
    link)); flags the feed for good when its GUIDs prove unusable (feeds.dedup.guids)."""
    if repo.guids_broken(feed_id):
        return False
    if not pairs:
        return True
    problem = pairs_problem(pairs, repo.sighted_keys_by_link(feed_id, [link for _, link in pairs]))
    if problem is None:
        return True
    repo.mark_guids_broken(feed_id, problem, now)
    return False


def _busy(source: FeedSource, wait: float) -> FetchResult | FetchError | HostBusy:
    return HostBusy(wait)


def _pause(seconds: float) -> None:
    time.sleep(min(max(seconds, 0.005), 5.0))
