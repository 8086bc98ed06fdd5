"""``newsmon feeds``: the feed list (add, import, export, list, show, pause, remove...)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from feeds.errors import FetchError, InvalidInput
from feeds.fetch.discover import discover_feed
from feeds.models import FeedInfo
from feeds.usecases import feeds as feed_list
from worker.bootstrap import Container
from worker.cli.base import command_group, container
from worker.cli.output import console, feed_table

group = command_group("Manage the feeds newsmon polls.")


@group.command("full-text")
def full_text(
    feed_id: int,
    state: Annotated[str, typer.Argument(help="on | off")],
) -> None:
    """Fetch the article pages of a summary-only feed for their full text (on/off)."""
    if state not in ("on", "off"):
        raise InvalidInput(f"{state!r}: say on or off")
    feed_list.set_full_text(container().store, feed_id, state == "on")
    console.print(f"full text {state} for feed {feed_id}", markup=False)


def discover_for_add(c: Container, url: str) -> str:
    """The feed URL to store for ``feeds add URL``; says what it chose.

    When the URL cannot be fetched now, it is added as given (it may come back later) and
    the reason is printed; when it is fetched but holds no feed, that is an error.
    """
    try:
        found = discover_feed(url, c.fetcher)
    except FetchError as exc:
        console.print(f"could not check {url} now ({exc}); adding it as given", markup=False)
        return url
    if found.url != url:
        console.print(f"found feed {found.url} via {found.how}", markup=False, highlight=False)
    return found.url


@group.command("add")
def feeds_add(
    url: str,
    title: Annotated[str | None, typer.Option("--title", help="Display title.")] = None,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover/--no-discover",
            help="Given a web page, find its feed (link rel=alternate, then common paths).",
        ),
    ] = True,
    full_text: Annotated[
        bool, typer.Option("--full-text", help="Fetch article pages for their full text.")
    ] = False,
) -> None:
    """Add a feed by its URL, or by the URL of a page that links to it."""
    c = container()
    target = feed_list.check_url(url)
    if discover:
        target = discover_for_add(c, target)
    wanted = feed_list.FeedToAdd(target, title, full_text)
    (feed,) = feed_list.add_feeds(
        c.store, c.pipeline.clock.now(), [wanted], keep_existing=False
    ).feeds
    console.print(f"added feed {feed.id}: {feed.url}", markup=False, highlight=False)


@group.command("list")
def feeds_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """List feeds with their health and schedule."""
    feeds = feed_list.list_feeds(container().store)
    if as_json:
        for feed in feeds:
            typer.echo(json.dumps(_feed_json(feed)))
    elif not feeds:
        console.print("no feeds yet: add one with `newsmon feeds add URL`", markup=False)
    else:
        console.print(feed_table(feeds))


def _feed_json(feed: FeedInfo) -> dict[str, Any]:
    out = {k: getattr(feed, k) for k in feed.__dataclass_fields__}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


@group.command("show")
def feeds_show(feed_id: int) -> None:
    """Show one feed's status."""
    feed = feed_list.get_feed(container().store, feed_id)
    for key, value in _feed_json(feed).items():
        console.print(f"{key:>16}: {'' if value is None else value}", markup=False)


@group.command("remove")
def feeds_remove(feed_id: int) -> None:
    """Remove a feed (its articles stay; they lose this feed's sightings)."""
    feed_list.remove_feed(container().store, feed_id)
    console.print(f"removed feed {feed_id}")


@group.command("pause")
def feeds_pause(feed_id: int) -> None:
    """Stop polling a feed until it is resumed."""
    feed_list.set_paused(container().store, feed_id, True)
    console.print(f"paused feed {feed_id}")


@group.command("resume")
def feeds_resume(feed_id: int) -> None:
    """Poll a paused feed again."""
    feed_list.set_paused(container().store, feed_id, False)
    console.print(f"resumed feed {feed_id}")


@group.command("import")
def feeds_import(file: Path) -> None:
    """Add every feed of an OPML file (feeds already present are kept as they are)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    c = container()
    result = feed_list.import_opml(c.store, c.pipeline.clock.now(), data, source=str(file))
    console.print(f"imported {len(result.feeds)} feeds ({result.existing} already present)")


@group.command("export")
def feeds_export(file: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Write the feeds as OPML to FILE or stdout."""
    text = feed_list.export_opml(container().store)
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"wrote {file}")
