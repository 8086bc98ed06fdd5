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

    send_digest(name, period):
        claim the (subscription, period) run -- None if already sent
        select + group + render                                          -- pure (digest)
        send                                                             -- Mailer
        mark sent / failed

Fetch and parse failures are recorded on the feed and reported, never raised: one bad feed
must not stop a pass. Storage failures propagate; the driver decides about retries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from feeds.dedup import to_new_article
from feeds.digest import build_digest, message_id_for, select_articles
from feeds.errors import FetchError, MailError, NewsmonError, ParseError
from feeds.grouping import group_pending
from feeds.identity import guids_usable
from feeds.models import (
    Document,
    FeedSource,
    FetchOutcome,
    FetchResult,
    NewArticle,
    Period,
    StoredArticle,
    Subscription,
)
from feeds.parse import parse_feed
from feeds.ports import Analyzer, Clock, Fetcher, Mailer, Store
from feeds.schedule import current_period

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


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    subscription: str
    period: Period
    status: Literal["sent", "skipped", "already_sent", "failed"]
    articles: int = 0
    message_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DigestPreview:
    subscription: Subscription
    period: Period
    articles: tuple[StoredArticle, ...]
    html: str
    text: str
    subject: str


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

        new_ids: list[int] = []
        with self.store.transaction() as repo:
            use_guid = guids_usable(repo, source.id, parsed.entries, now)
            candidates = _unique_by_key(
                to_new_article(e, source.id, now, use_guid=use_guid) for e in parsed.entries
            )
            # A fixed insert order: two workers storing overlapping feeds in different orders
            # would otherwise deadlock on PostgreSQL's unique-index locks.
            candidates.sort(key=lambda c: c.content_hash)
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
                (item.id, self.analyzer.analyze(Document(str(item.id), item.title, item.text)))
                for item in items
            ]
            if results:
                now = self.clock.now()
                with self.store.transaction() as repo:
                    for article_id, result in results:
                        repo.save_analysis(article_id, result, now)
            # Near-duplicates and stories, once per article (feeds.grouping); a repeated
            # task still groups its articles if an earlier run stopped before this step.
            analysed = [article_id for article_id, _ in results]
            group_pending(self.store, ids=batch_ids if batch_ids is not None else analysed)
            total += len(results)
            if remaining is not None:
                remaining = remaining[limit:]
                if not remaining:
                    return total
            elif len(items) < limit:
                group_pending(self.store)  # stragglers, e.g. a crash between the two steps
                return total

    # ------------------------------------------------------------------ digests

    def due_digests(self) -> list[tuple[str, Period]]:
        """The (subscription, completed period) pairs not yet sent."""
        now = self.clock.now()
        with self.store.transaction() as repo:
            subscriptions = [s for s in repo.list_subscriptions() if not s.paused]
            sent = {
                (run.subscription_id, run.period_key)
                for run in repo.list_digest_runs()
                if run.status in ("sent", "skipped")
            }
        due = []
        for sub in subscriptions:
            period = current_period(sub.spec, now)
            if (sub.id, period.key) not in sent:
                due.append((sub.name, period))
        return due

    def send_digest(self, name: str, period: Period | None = None) -> DigestOutcome:
        """Send the digest of ``period`` (default: the last completed one) at most once."""
        now = self.clock.now()
        with self.store.transaction() as repo:
            sub = repo.get_subscription(name)
            period = period or current_period(sub.spec, now)
            message_id = message_id_for(sub.id, period.key, self.message_id_domain)
            run = repo.claim_digest_run(sub.id, period.key, message_id, now)
        if run is None:
            return DigestOutcome(name, period, "already_sent")
        articles = self._select(sub, period)
        if not articles:
            # An empty digest is noise; the run is closed so the period is not retried.
            with self.store.transaction() as repo:
                repo.mark_digest_sent(run.id, now, 0)
            return DigestOutcome(name, period, "skipped", 0, run.message_id)
        email = build_digest(
            subscription=sub,
            period=period,
            articles=articles,
            sender=self.mail_from,
            message_id=run.message_id,
            generated_at=now,
        )
        try:
            self.mailer.send(email)
        except MailError as exc:
            with self.store.transaction() as repo:
                repo.mark_digest_failed(run.id, str(exc))
            return DigestOutcome(name, period, "failed", len(articles), run.message_id, str(exc))
        with self.store.transaction() as repo:
            repo.mark_digest_sent(run.id, self.clock.now(), len(articles))
        return DigestOutcome(name, period, "sent", len(articles), run.message_id)

    def send_due_digests(self) -> list[DigestOutcome]:
        outcomes = []
        for name, period in self.due_digests():
            try:
                outcomes.append(self.send_digest(name, period))
            except NewsmonError as exc:  # e.g. removed meanwhile; the others still go out
                outcomes.append(DigestOutcome(name, period, "failed", error=str(exc)))
        return outcomes

    def preview_digest(self, name: str) -> DigestPreview:
        """What the next digest holds so far: from the end of the last period until now."""
        now = self.clock.now()
        with self.store.transaction() as repo:
            sub = repo.get_subscription(name)
        last = current_period(sub.spec, now)
        period = Period(f"preview:{last.key}", last.end, now)
        articles = self._select(sub, period)
        email = build_digest(
            subscription=sub,
            period=period,
            articles=articles,
            sender=self.mail_from,
            message_id=message_id_for(sub.id, period.key, self.message_id_domain),
            generated_at=now,
        )
        return DigestPreview(sub, period, tuple(articles), email.html, email.text, email.subject)

    def _select(self, sub: Subscription, period: Period) -> list[StoredArticle]:
        with self.store.transaction() as repo:
            stored = list(repo.iter_articles(since=period.start, until=period.end))
        return select_articles(stored, sub.spec)


def _unique_by_key(articles: Iterable[NewArticle]) -> list[NewArticle]:
    """Keep the first entry per identity key: broken feeds repeat GUIDs within one document."""
    seen: dict[str, NewArticle] = {}
    for article in articles:
        seen.setdefault(article.entry_key, article)
    return list(seen.values())
