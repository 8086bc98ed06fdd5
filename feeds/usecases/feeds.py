"""The feed list: one path to add feeds (``feeds add`` and OPML import), and its edits.

Adding is all-or-nothing: the feeds of one call are added in one transaction, so an OPML
file with a bad URL half-way leaves the feed list as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.errors import AlreadyExists, FetchError, InvalidInput, ParseError
from feeds.formats.opml import OpmlFeed, parse_opml, render_opml
from feeds.models import DigestRun, FeedInfo
from feeds.ports import Fetcher, Store


@dataclass(frozen=True, slots=True)
class FeedToAdd:
    url: str
    title: str | None = None
    full_text: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    """What ``feeds add URL`` stores, and what to tell the user about the choice."""

    url: str
    note: str | None = None


def feed_to_add(fetcher: Fetcher, url: str, *, force: bool) -> Checked:
    """The feed URL to store for ``url``: the feed a page links to, or ``url`` itself.

    A URL that fails in a way retrying will not fix (404, a name that does not exist, an
    address our policy refuses) or that holds no feed is refused (:class:`InvalidInput`),
    unless ``force``: then it is kept as given, with the reason in the note. A failure that
    may pass (a timeout, 5xx) keeps it as given, as the feed may well be back at the next
    poll."""
    from feeds.fetch.discover import discover_feed
    from feeds.fetch.policy import is_lasting

    try:
        found = discover_feed(url, fetcher)
    except FetchError as exc:
        if is_lasting(exc) and not force:
            raise InvalidInput(
                f"not adding {url}: {exc}; nothing added (check the URL, or keep it "
                "anyway with --force)"
            ) from None
        return Checked(url, f"could not check {url} now ({exc}); adding it as given")
    except ParseError as exc:
        if not force:
            raise InvalidInput(f"{exc}; nothing added (keep it anyway with --force)") from None
        return Checked(url, f"{exc}; adding it as given (--force)")
    if found.url != url:
        return Checked(found.url, f"found feed {found.url} via {found.how}")
    return Checked(found.url)


@dataclass(frozen=True, slots=True)
class Added:
    feeds: tuple[FeedInfo, ...]  # the feeds added, in the order given
    existing: int  # URLs already in the list, left as they were


def check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{url!r} is not an http(s) URL")
    return url


def add_feeds(
    store: Store, now: datetime, feeds: Sequence[FeedToAdd], *, keep_existing: bool
) -> Added:
    """Add ``feeds`` in one transaction. With ``keep_existing`` a URL already listed is
    counted and skipped; without, it is an error (:class:`AlreadyExists`)."""
    added: list[FeedInfo] = []
    existing = 0
    with store.transaction() as repo:
        known = {f.url for f in repo.list_feeds()} if keep_existing else set()
        for feed in feeds:
            if feed.url in known:
                existing += 1
                continue
            check_url(feed.url)
            try:
                info = repo.add_feed(feed.url, feed.title, now)
            except AlreadyExists:
                if not keep_existing:
                    raise
                existing += 1
                continue
            if feed.full_text:
                repo.set_feed_full_text(info.id, True)
            known.add(feed.url)
            added.append(info)
    return Added(tuple(added), existing)


def import_opml(store: Store, now: datetime, document: bytes, *, source: str) -> Added:
    """Every feed of an OPML document; feeds already present are kept as they are."""
    try:
        wanted = [FeedToAdd(f.url, f.title) for f in parse_opml(document)]
        return add_feeds(store, now, wanted, keep_existing=True)
    except InvalidInput as exc:
        raise InvalidInput(f"{source}: {exc}; nothing imported") from None


def export_opml(store: Store) -> str:
    return render_opml([OpmlFeed(f.url, f.title) for f in list_feeds(store)])


def list_feeds(store: Store) -> list[FeedInfo]:
    with store.transaction(readonly=True) as repo:
        return repo.list_feeds()


def get_feed(store: Store, feed_id: int) -> FeedInfo:
    with store.transaction() as repo:
        return repo.get_feed(feed_id)


def remove_feed(store: Store, feed_id: int) -> None:
    with store.transaction() as repo:
        repo.remove_feed(feed_id)


def set_paused(store: Store, feed_id: int, paused: bool) -> None:
    with store.transaction() as repo:
        repo.set_feed_paused(feed_id, paused)


def set_full_text(store: Store, feed_id: int, enabled: bool) -> None:
    with store.transaction() as repo:
        repo.set_feed_full_text(feed_id, enabled)


def prune(store: Store, first_seen_before: datetime, now: datetime) -> int:
    """Remove old articles, leaving tombstones; returns how many were removed."""
    with store.transaction() as repo:
        return repo.prune_articles(first_seen_before, now)


@dataclass(frozen=True, slots=True)
class Status:
    feeds: list[FeedInfo]
    recent_runs: list[DigestRun]  # oldest first
    subscription_names: dict[int, str]
    tombstones: int


def status(store: Store, *, runs: int = 5) -> Status:
    """What ``newsmon status`` reports from the database, read in one transaction."""
    with store.transaction() as repo:
        return Status(
            feeds=repo.list_feeds(),
            recent_runs=repo.list_digest_runs()[-runs:],
            subscription_names={s.id: s.name for s in repo.list_subscriptions()},
            tombstones=repo.count_tombstones(),
        )


@dataclass(frozen=True, slots=True)
class PassProgress:
    """How far a pass run by other processes got (decision 5: the database is the record)."""

    feeds: list[FeedInfo]  # the pass's feeds
    waiting: int  # of them, those with no fetch recorded since the pass started
    analysis_pending: bool  # some article (of any pass) still waits for analysis


def pass_progress(store: Store, ids: Collection[int], started: datetime) -> PassProgress:
    with store.transaction() as repo:
        feeds = [f for f in repo.list_feeds() if f.id in ids]
        waiting = sum(1 for f in feeds if f.last_fetch_at is None or f.last_fetch_at < started)
        return PassProgress(feeds, waiting, bool(repo.pending_analysis(limit=1)))


def count_new_articles(store: Store, since: datetime) -> int:
    """Articles first seen since ``since``."""
    with store.transaction() as repo:
        return sum(1 for _ in repo.iter_articles(since=since))
