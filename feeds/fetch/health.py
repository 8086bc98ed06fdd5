"""What ``newsmon status`` reports about feeds: pure summaries of :class:`FeedInfo` rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.fetch.politeness import host_key
from feeds.models import FeedInfo

__all__ = ["FailingHost", "HealthSummary", "display_health", "summarize"]

HEALTH_ORDER = ("ok", "flaky", "failing", "gone", "paused", "new")


def display_health(feed: FeedInfo) -> str:
    """One word for people: paused and never-polled feeds are shown as such."""
    if feed.paused:
        return "paused"
    if feed.health == "gone":
        return "gone"
    if feed.last_fetch_at is None:
        return "new"
    return feed.health


@dataclass(frozen=True, slots=True)
class FailingHost:
    host: str
    failing: int  # feeds on this host whose last poll failed (or that are gone)
    feeds: int  # feeds on this host
    last_error: str | None


@dataclass(frozen=True, slots=True)
class HealthSummary:
    total: int
    by_health: dict[str, int]
    due_now: int
    failing_hosts: tuple[FailingHost, ...]


def summarize(feeds: Sequence[FeedInfo], now: datetime, *, max_hosts: int = 10) -> HealthSummary:
    by_health = Counter(display_health(f) for f in feeds)
    due = sum(
        1
        for f in feeds
        if not f.paused
        and f.health != "gone"
        and (f.next_fetch_at is None or f.next_fetch_at <= now)
    )
    per_host: dict[str, list[FeedInfo]] = defaultdict(list)
    for f in feeds:
        per_host[host_key(f.url)].append(f)
    failing: list[FailingHost] = []
    for host, host_feeds in per_host.items():
        bad = [f for f in host_feeds if not f.paused and f.health in ("failing", "gone")]
        if bad:
            latest = max(bad, key=lambda f: f.last_fetch_at or now)
            failing.append(FailingHost(host, len(bad), len(host_feeds), latest.last_error))
    failing.sort(key=lambda h: (-h.failing, h.host))
    ordered = {k: by_health[k] for k in HEALTH_ORDER if by_health.get(k)}
    return HealthSummary(len(feeds), ordered, due, tuple(failing[:max_hosts]))
