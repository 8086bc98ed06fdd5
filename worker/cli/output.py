"""How the CLI shows things: Rich tables for people, plain lines for the summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from feeds.fetch.health import display_health
from feeds.models import FeedInfo
from feeds.usecases.pipeline import PassReport

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds}s"
    elif seconds < 5400:
        text = f"{seconds // 60}m"
    elif seconds < 172800:
        text = f"{seconds // 3600}h"
    else:
        text = f"{seconds // 86400}d"
    return f"in {text}" if future else f"{text} ago"


def feed_health(feed: FeedInfo) -> str:
    word = display_health(feed)
    if word == "failing":
        return f"failing ({feed.error_count}x)"
    if word == "gone":
        return "gone (410)"
    return word


def feed_table(feeds: Sequence[FeedInfo]) -> Table:
    now = datetime.now(UTC)
    table = Table(show_lines=False)
    for column in (
        "id",
        "title",
        "url",
        "health",
        "last fetch",
        "next fetch",
        "articles",
        "last error",
    ):
        table.add_column(column, overflow="fold")
    for f in feeds:
        table.add_row(
            str(f.id),
            f.title or "",
            f.url,
            feed_health(f),
            _ago(f.last_fetch_at, now),
            "paused"
            if f.paused
            else "not polled (gone)"
            if f.health == "gone"
            else _ago(f.next_fetch_at, now)
            if f.next_fetch_at
            else "now",
            str(f.article_count),
            f.last_error or "",
        )
    return table


def print_pass(report: PassReport, seconds: float) -> None:
    console.print(
        f"polled {len(report.feeds)} feeds in {seconds:.1f}s: {report.count('ok')} ok, "
        f"{report.count('not_modified')} not modified, {report.count('failed')} failed; "
        f"{report.new_articles} new articles, {report.analyzed} analysed",
        markup=False,
    )
    for r in report.feeds:
        if r.status == "failed":
            console.print(f"  feed {r.feed_id} {r.url}: {r.error}", markup=False)
