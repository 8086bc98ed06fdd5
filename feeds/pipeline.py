"""The use cases, as sequences of ports.

Every driver calls these and nothing else: the embedded scheduler (``newsmon run``), the
one-shot CLI (``newsmon poll``, ``newsmon digest send``) and the Celery tasks. The flow::

    poll_pass(sources):
        for each source, concurrently:   fetch (conditional GET)        -- Fetcher
        as each fetch completes:         ingest(source, fetched)
            parse -> typed entries                                       -- pure
            identity keys, canonical URL, content hash                   -- pure (dedup)
            in one transaction: insert new articles once, record
            sightings and the feed's status                              -- Repository
        analyse the pass's new articles                                  -- Analyzer

    analyze_pending(ids):
        read the articles (short transaction), analyse them outside any transaction
        (analysis is slow and must not hold SQLite's write lock), save the results
        (second transaction; saving replaces, so a repeat changes nothing)

    send_digest(name, period):                          -- feeds.delivery (the outbox)
        lease the (subscription, period) run -- nothing if sent or leased
        select + group + render                                          -- pure (digest)
        send each recipient's copy, recording each                       -- Mailer
        mark sent / skipped / failed with a retry time

Fetch and parse failures are recorded on the feed and reported, never raised: one bad feed
must not stop a pass. Storage failures propagate; the driver decides about retries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from feeds.dedup import to_new_article
from feeds.delivery import DeliverySettings, DigestOutcome, DigestPreview, DigestService
from feeds.errors import FetchError, ParseError
from feeds.models import (
    Document,
    FeedSource,
    FetchOutcome,
    FetchResult,
    NewArticle,
    Period,
)
from feeds.parse import parse_feed
from feeds.ports import Analyzer, Clock, Fetcher, Mailer, Store
from feeds.unsubscribe import UnsubscribeConfig

__all__ = [
    "DigestOutcome",
    "DigestPreview",
    "PassReport",
    "Pipeline",
    "PollReport",
]

PollStatus = Literal["ok", "not_modified", "failed"]


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    status: PollStatus
    new_article_ids: tuple[int, ...] = ()
    entries: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PassReport:
    feeds: tuple[PollReport, ...]
    analyzed: int = 0

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

    # ------------------------------------------------------------------ polling

    def due_feeds(self) -> list[FeedSource]:
        with self.store.transaction() as repo:
            return repo.feed_sources(due_before=self.clock.now())

    def sources(self, ids: Sequence[int] | None = None) -> list[FeedSource]:
        """Active feeds: those with these ids (every one must exist), or all."""
        with self.store.transaction() as repo:
            if ids:
                for feed_id in ids:
                    repo.get_feed(feed_id)  # raises NotFound with a helpful message
            return repo.feed_sources(ids=ids)

    def poll_feed(self, feed_id: int) -> PollReport:
        """Poll one feed now (it must exist and not be paused) without analysing."""
        sources = self.sources([feed_id])
        if not sources:
            return PollReport(feed_id, "", "failed", error="feed is paused")
        return self.ingest(sources[0], self._fetch(sources[0]))

    def poll_pass(self, sources: Sequence[FeedSource], *, analyze: bool = True) -> PassReport:
        """Fetch concurrently, ingest each as it arrives, then analyse the new articles.

        Ingest runs on the calling thread only, so the database sees one writer per
        process however many fetches are in flight.
        """
        reports: list[PollReport] = []
        workers = max(1, min(self.fetch_concurrency, len(sources)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            futures: dict[Future[FetchResult | FetchError], FeedSource] = {
                pool.submit(self._fetch, source): source for source in sources
            }
            for future in as_completed(futures):
                reports.append(self.ingest(futures[future], future.result()))
        reports.sort(key=lambda r: r.feed_id)
        analyzed = 0
        if analyze:
            new_ids = [i for r in reports for i in r.new_article_ids]
            if new_ids:
                analyzed = self.analyze_pending(ids=new_ids)
        return PassReport(tuple(reports), analyzed)

    def _fetch(self, source: FeedSource) -> FetchResult | FetchError:
        try:
            return self.fetcher.fetch(
                source.url, etag=source.etag, last_modified=source.last_modified
            )
        except FetchError as exc:
            return exc

    def ingest(self, source: FeedSource, fetched: FetchResult | FetchError) -> PollReport:
        """Record one fetch: parse, deduplicate and store; one transaction."""
        now = self.clock.now()
        if isinstance(fetched, FetchError):
            return self._record_failure(source, now, str(fetched), getattr(fetched, "status", None))
        if fetched.status == "not_modified":
            with self.store.transaction() as repo:
                repo.record_fetch(self._success(source, now, fetched))
            return PollReport(source.id, source.url, "not_modified")
        try:
            parsed = parse_feed(fetched.content, url=fetched.url, content_type=fetched.content_type)
        except ParseError as exc:
            return self._record_failure(source, now, str(exc), fetched.http_status)

        candidates = _unique_by_key(to_new_article(e, source.id, now) for e in parsed.entries)
        # A fixed insert order: two workers storing overlapping feeds in different orders
        # would otherwise deadlock on PostgreSQL's unique-index locks.
        candidates.sort(key=lambda c: c.content_hash)
        new_ids: list[int] = []
        with self.store.transaction() as repo:
            known = repo.known_entry_keys(source.id, [c.entry_key for c in candidates])
            for candidate in candidates:
                if candidate.entry_key in known:
                    continue
                ref = repo.add_article(candidate)
                if ref.created:
                    new_ids.append(ref.id)
            repo.record_fetch(
                self._success(source, now, fetched, title=parsed.title, site_url=parsed.link)
            )
        return PollReport(source.id, source.url, "ok", tuple(new_ids), len(parsed.entries))

    def _success(
        self,
        source: FeedSource,
        now: datetime,
        fetched: FetchResult,
        *,
        title: str | None = None,
        site_url: str | None = None,
    ) -> FetchOutcome:
        return FetchOutcome(
            feed_id=source.id,
            fetched_at=now,
            next_fetch_at=now + self.poll_interval,
            ok=True,
            http_status=fetched.http_status,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            title=title,
            site_url=site_url,
        )

    def _record_failure(
        self, source: FeedSource, now: datetime, error: str, http_status: int | None
    ) -> PollReport:
        with self.store.transaction() as repo:
            repo.record_fetch(
                FetchOutcome(
                    feed_id=source.id,
                    fetched_at=now,
                    next_fetch_at=now + self.retry_interval,
                    ok=False,
                    http_status=http_status,
                    error=error,
                )
            )
        return PollReport(source.id, source.url, "failed", error=error)

    # ------------------------------------------------------------------ analysis

    def analyze_pending(self, *, ids: Sequence[int] | None = None, limit: int = 500) -> int:
        """Analyse articles that have no analysis yet; returns how many were analysed."""
        total = 0
        remaining = list(ids) if ids is not None else None
        while True:
            batch_ids = remaining[:limit] if remaining is not None else None
            with self.store.transaction() as repo:
                items = repo.pending_analysis(ids=batch_ids, limit=limit)
            results = [
                (
                    item.id,
                    self.analyzer.analyze(
                        Document(str(item.id), item.title, item.text, item.author, item.url)
                    ),
                )
                for item in items
            ]
            if results:
                now = self.clock.now()
                with self.store.transaction() as repo:
                    for article_id, result in results:
                        repo.save_analysis(article_id, result, now)
            total += len(results)
            if remaining is not None:
                remaining = remaining[limit:]
                if not remaining:
                    return total
            elif len(items) < limit:
                return total

    # ------------------------------------------------------------------ digests
    # The digest and alert use cases live in feeds.delivery; these keep the entry points
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


def _unique_by_key(articles: Iterable[NewArticle]) -> list[NewArticle]:
    """Keep the first entry per identity key: broken feeds repeat GUIDs within one document."""
    seen: dict[str, NewArticle] = {}
    for article in articles:
        seen.setdefault(article.entry_key, article)
    return list(seen.values())
