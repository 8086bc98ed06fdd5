"""``newsmon feeds``: the feed list (add, import, export, list, show, pause, remove...)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from feeds.errors import AlreadyExists, InvalidInput
from worker.cli.base import adding, command_group, store
from worker.cli.output import console, plural, print_feeds

if TYPE_CHECKING:
    pass


group = command_group("Manage the feeds newsmon polls.")


@group.command("full-text")
def full_text(
    feed_id: int,
    state: Annotated[str, typer.Argument(help="on | off")],
) -> None:
    """Fetch the article pages of a summary-only feed for their full text (on/off)."""
    from feeds.usecases import feeds as feed_list

    if state not in ("on", "off"):
        raise InvalidInput(f"{state!r}: say on or off")
    feed_list.set_full_text(store(), feed_id, state == "on")
    console.print(f"full text {state} for feed {feed_id}", markup=False)


@group.command("add")
def feeds_add(
    url: str,
    title: Annotated[str | None, typer.Option("--title", help="Display title.")] = None,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover/--no-discover",
            help="Given a web page, find its feed (link rel=alternate, then common paths). "
            "--no-discover adds the URL as given, unchecked.",
        ),
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Add the URL even when checking it says it is broken (404, no feed…)."
        ),
    ] = False,
    full_text: Annotated[
        bool, typer.Option("--full-text", help="Fetch article pages for their full text.")
    ] = False,
) -> None:
    """Add a feed by its URL, or by the URL of a page that links to it."""
    from feeds.usecases import feeds as feed_list
    from worker import bootstrap

    target = feed_list.check_url(url)
    if discover:
        # Checked before the database is opened: a refused URL must not leave a new,
        # empty database behind.
        with bootstrap.fetcher() as fetcher:
            checked = feed_list.feed_to_add(fetcher, target, force=force)
        if checked.note:
            console.print(checked.note, markup=False, highlight=False)
        target = checked.url
    wanted = feed_list.FeedToAdd(target, title, full_text)
    with adding() as c:
        try:
            (feed,) = feed_list.add_feeds(
                c.store, c.pipeline.clock.now(), [wanted], keep_existing=False
            ).feeds
        except AlreadyExists:
            if target == url:
                raise
            # The user never typed the discovered URL: say where it came from.
            raise AlreadyExists(
                f"{url} leads to the feed {target}, which is already in the list; nothing added"
            ) from None
    console.print(f"added feed {feed.id}: {feed.url}", markup=False, highlight=False)


@group.command("list")
def feeds_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """List feeds with their health and schedule."""
    from feeds.formats.export import feed_json
    from feeds.usecases import feeds as feed_list

    feeds = feed_list.list_feeds(store())
    if as_json:
        for feed in feeds:
            typer.echo(json.dumps(feed_json(feed)))
    elif not feeds:
        console.print("no feeds yet: add one with `newsmon feeds add URL`", markup=False)
    else:
        print_feeds(feeds)


@group.command("show")
def feeds_show(feed_id: int) -> None:
    """Show one feed's status."""
    from feeds.formats.export import feed_json
    from feeds.usecases import feeds as feed_list

    feed = feed_list.get_feed(store(), feed_id)
    for key, value in feed_json(feed).items():
        console.print(f"{key:>16}: {'' if value is None else value}", markup=False)


@group.command("remove")
def feeds_remove(feed_id: int) -> None:
    """Remove a feed (its articles stay; they lose this feed's sightings)."""
    from feeds.usecases import feeds as feed_list

    feed_list.remove_feed(store(), feed_id)
    console.print(f"removed feed {feed_id}")


@group.command("pause")
def feeds_pause(feed_id: int) -> None:
    """Stop polling a feed until it is resumed."""
    from feeds.usecases import feeds as feed_list

    feed_list.set_paused(store(), feed_id, True)
    console.print(f"paused feed {feed_id}")


@group.command("resume")
def feeds_resume(feed_id: int) -> None:
    """Poll a paused feed again."""
    from feeds.usecases import feeds as feed_list

    feed_list.set_paused(store(), feed_id, False)
    console.print(f"resumed feed {feed_id}")


@group.command("import")
def feeds_import(file: Path) -> None:
    """Add every feed of an OPML file (feeds already present are kept as they are)."""
    from feeds.usecases import feeds as feed_list

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    with adding() as c:
        result = feed_list.import_opml(c.store, c.pipeline.clock.now(), data, source=str(file))
    console.print(
        f"imported {plural(len(result.feeds), 'feed')} ({result.existing} already present)",
        markup=False,
    )


@group.command("export")
def feeds_export(file: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Write the feeds as OPML to FILE or stdout."""
    from feeds.usecases import feeds as feed_list

    text = feed_list.export_opml(store())
    if file is None:
        sys.stdout.write(text)
    else:
        try:
            file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write {file}: {exc.strerror}") from None
        console.print(f"wrote {file}", markup=False, highlight=False)
