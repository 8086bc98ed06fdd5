"""``newsmon stories``: the largest stories, one line each (registered in worker.cli)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from feeds.errors import InvalidInput
from worker import bootstrap
from worker.cli_output import console


def _typer() -> typer.Typer:
    # The same settings as the other groups; the group class comes from worker.cli so
    # errors are reported the same way (imported late: worker.cli imports this module).
    from worker.cli import _typer as make

    return make("Stories: articles about the same event, grouped across outlets.")


stories_app = _typer()


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--since {value!r} is not an ISO date such as 2026-11-27") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@stories_app.command("list")
def stories_list(
    since: Annotated[
        str | None, typer.Option("--since", help="Only stories active since this ISO date.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many stories.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per story.")] = False,
) -> None:
    """The largest stories, most articles first, with how many outlets covered each."""
    with bootstrap.container().store.transaction() as repo:
        found = repo.list_stories(since=_since(since), limit=limit)
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
