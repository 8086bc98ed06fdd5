"""``newsmon stories``: the largest stories, one line each."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from feeds.usecases.stories import largest_stories
from worker.cli.base import command_group, container, parse_since
from worker.cli.output import console

group = command_group("Stories: articles about the same event, grouped across outlets.")


@group.command("list")
def stories_list(
    since: Annotated[
        str | None, typer.Option("--since", help="Only stories active since this ISO date.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many stories.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per story.")] = False,
) -> None:
    """The largest stories, most articles first, with how many outlets covered each."""
    found = largest_stories(container().store, since=parse_since(since), limit=limit)
    if as_json:
        for story in found:
            record = {
                "id": story.id,
                "title": story.title,
                "articles": story.articles,
                "outlets": story.outlets,
                "first": story.first_time.isoformat().replace("+00:00", "Z"),
                "last": story.last_time.isoformat().replace("+00:00", "Z"),
            }
            console.print(json.dumps(record, ensure_ascii=False), markup=False, highlight=False)
        return
    if not found:
        console.print("no stories yet (articles are grouped when they are analysed)")
        return
    table = Table("story", "articles", "outlets", "last", "title", box=None)
    for story in found:
        table.add_row(
            str(story.id),
            str(story.articles),
            str(story.outlets),
            story.last_time.strftime("%Y-%m-%d %H:%M"),
            story.title,
        )
    console.print(table)
