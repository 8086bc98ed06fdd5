"""``newsmon stories``: the largest stories, one line each; one story in full."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from feeds.models import StoryDetail
from worker.cli.base import command_group, parse_since, say, store
from worker.cli.output import console, plural

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
    from rich.table import Table

    from feeds.formats.export import story_summary_json
    from feeds.usecases.stories import largest_stories

    found = largest_stories(store(), since=parse_since(since), limit=limit)
    if as_json:
        for story in found:
            say(json.dumps(story_summary_json(story), ensure_ascii=False))
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
            _when(story.last_time),
            story.title,
        )
    console.print(table)


@group.command("show")
def stories_show(
    story_id: Annotated[int, typer.Argument(metavar="ID", help="A story id from `stories list`.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """One story: its outlets, the timeline of its articles and the actors it mentions."""
    from feeds.formats.export import story_json
    from feeds.usecases.stories import story_detail

    story = story_detail(store(), story_id)
    if as_json:
        say(json.dumps(story_json(story), ensure_ascii=False))
        return
    for line in _story_lines(story):
        say(line)


def _story_lines(story: StoryDetail) -> list[str]:
    """The text of ``stories show``: plain lines, so a long headline is never cut."""
    summary = story.summary
    lines = [
        f"story {summary.id}: {summary.title}",
        f"  first seen  {_when(summary.first_time)}",
        f"  last seen   {_when(summary.last_time)}",
        f"  size        {plural(summary.articles, 'article')}, {plural(summary.outlets, 'outlet')}",
        "",
        "outlets",
    ]
    width = max((len(o.name) for o in story.outlets), default=0)
    lines += [f"  {o.name:<{width}}  {plural(o.articles, 'article')}" for o in story.outlets]
    lines += ["", "timeline"]
    for m in story.timeline:
        copy = f"  (copy of {m.duplicate_of})" if m.duplicate_of is not None else ""
        lines.append(f"  {_when(m.time)}  {', '.join(m.outlets) or '-'}  {m.title}{copy}")
    lines += ["", "actors"]
    if not story.actors:
        lines.append("  none found in its analysed articles")
    width = max((len(x.name) for x in story.actors), default=0)
    for x in story.actors:
        lines.append(
            f"  {x.name:<{width}}  in {plural(x.mentions, 'article')}, "
            f"mean {x.mean_sentiment:+.2f}, {x.negative} negative, {x.positive} positive"
        )
    return lines


def _when(moment: datetime) -> str:
    # The list's format: stored times are UTC.
    return moment.strftime("%Y-%m-%d %H:%M")
