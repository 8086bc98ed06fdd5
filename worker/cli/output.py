"""How the CLI shows things: Rich tables for people, plain lines for the summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.table import Table

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
    from feeds.fetch.health import display_health

    word = display_health(feed)
    if word == "failing":
        return f"failing ({feed.error_count}x)"
    if word == "gone":
        return "gone (410)"
    return word


def plural(count: int, noun: str) -> str:
    """``1 feed``, ``2 feeds``: the counts users read in every summary line."""
    return f"{count} {noun if count == 1 else noun + 's'}"


def _next_fetch(f: FeedInfo, now: datetime) -> str:
    if f.paused:
        return "paused"
    if f.health == "gone":
        return "not polled (gone)"
    return _ago(f.next_fetch_at, now) if f.next_fetch_at else "now"


# What the table needs beside the URL column: the other seven columns at their usual
# widths (title and last error may wrap) and the borders.
_TABLE_OVERHEAD = 75


def print_feeds(feeds: Sequence[FeedInfo]) -> None:
    """The feed list for people. A URL is never broken: a URL cut into pieces cannot be
    copied into ``feeds add`` or a browser. On a terminal wide enough for the longest URL
    it is a table; piped, or on a narrow terminal, one block a feed with the URL on a line
    of its own (scripts should read ``feeds list --json``)."""
    now = datetime.now(UTC)
    widest = max(len(f.url) for f in feeds)
    if console.is_terminal and console.width >= widest + _TABLE_OVERHEAD:
        console.print(_feed_table(feeds, now))
        return
    for f in feeds:
        head = [
            f"feed {f.id}",
            feed_health(f),
            f"last fetch {_ago(f.last_fetch_at, now)}",
            f"next fetch {_next_fetch(f, now)}",
            plural(f.article_count, "article"),
        ]
        lines = ["  ".join(head), f"  {f.url}"]
        if f.title:
            lines.append(f"  title: {f.title}")
        if f.last_error:
            lines.append(f"  last error: {f.last_error}")
        for line in lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def _feed_table(feeds: Sequence[FeedInfo], now: datetime) -> Table:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("id", "title", "url", "health", "last fetch", "next fetch", "articles"):
        if column == "url":
            table.add_column(column, no_wrap=True, min_width=max(len(f.url) for f in feeds))
        else:
            table.add_column(column, overflow="fold")
    table.add_column("last error", overflow="fold", ratio=1)
    for f in feeds:
        table.add_row(
            str(f.id),
            f.title or "",
            f.url,
            feed_health(f),
            _ago(f.last_fetch_at, now),
            _next_fetch(f, now),
            str(f.article_count),
            f.last_error or "",
        )
    return table


def print_pass(report: PassReport, seconds: float) -> None:
    console.print(
        f"polled {plural(len(report.feeds), 'feed')} in {seconds:.1f}s: "
        f"{report.count('ok')} ok, {report.count('not_modified')} not modified, "
        f"{report.count('failed')} failed; {plural(report.new_articles, 'new article')}, "
        f"{report.analyzed} analysed",
        markup=False,
    )
    for r in report.feeds:
        if r.status == "failed":
            console.print(f"  feed {r.feed_id} {r.url}: {r.error}", markup=False)
