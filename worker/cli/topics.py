"""``newsmon topics``: user topics (named monitoring queries).

A thin layer over :mod:`feeds.usecases.topics`. The query language is described in docs/TOPICS.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.base import adding, command_group, parse_since, store
from worker.cli.output import console, plural

if TYPE_CHECKING:
    from feeds import user_topics


if TYPE_CHECKING:
    from rich.text import Text


group = command_group("Manage user topics: named monitoring queries (see docs/TOPICS.md).")

SNIPPET_WORDS = 12

_SINCE_HELP = "ISO date: only articles first seen on or after it."


@group.command("list")
def topics_list() -> None:
    """List user topics and their queries."""
    from feeds.usecases import topics

    found = topics.list_topics(store())
    if not found:
        console.print("no topics yet: add one with `newsmon topics add NAME QUERY`", markup=False)
    for topic in found:
        console.print(f"{topic.code}: {topic.query}", markup=False, highlight=False)


@group.command("add")
def topics_add(name: str, query: str) -> None:
    """Add a topic NAME defined by QUERY (new articles that match get `user:NAME`)."""
    from feeds.query import to_text
    from feeds.usecases import topics

    with adding() as c:
        topic, node = topics.add_topic(c.store, c.pipeline.clock.now(), name, query)
    topics.forget_user_topics()
    console.print(
        f"added topic {topic.code}: {to_text(node)}\n"
        f"stored articles are not tagged yet: run `newsmon topics apply {name}`",
        markup=False,
        highlight=False,
    )


@group.command("remove")
def topics_remove(name: str) -> None:
    """Remove a topic and its matches."""
    from feeds.usecases import topics

    topics.remove_topic(store(), name)
    topics.forget_user_topics()
    console.print(f"removed topic {name}", markup=False, highlight=False)


@group.command("test")
def topics_test(
    query: str,
    since: Annotated[str | None, typer.Option(help=_SINCE_HELP)] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many matches.")] = 50,
) -> None:
    """Show the stored articles QUERY matches, with the matching words highlighted."""
    from feeds.query import to_text
    from feeds.usecases import topics

    node, hits = topics.try_query(store(), query, parse_since(since))
    for hit in hits[:limit]:
        _print_hit(hit)
    more = f" (showing {limit})" if len(hits) > limit else ""
    verb = "matches" if len(hits) == 1 else "match"
    console.print(f"{plural(len(hits), 'article')} {verb} {to_text(node)}{more}", markup=False)


@group.command("apply")
def topics_apply(
    name: str,
    since: Annotated[str | None, typer.Option(help=_SINCE_HELP)] = None,
) -> None:
    """Re-run topic NAME over stored articles and record its matches."""
    from feeds.usecases import topics

    topic, hits = topics.apply_topic(store(), name, parse_since(since))
    scope = f" first seen since {since}" if since else ""
    verb = "matches" if len(hits) == 1 else "match"
    console.print(
        f"{topic.code}: {plural(len(hits), 'stored article')}{scope} {verb}", markup=False
    )


def _print_hit(hit: user_topics.Hit) -> None:
    from rich.text import Text

    marked = {w for h in hit.highlights for w in h.split()}
    line = Text(f"{hit.doc.id:>6}  {hit.doc.first_seen:%Y-%m-%d}  ")
    line.append_text(_highlight(hit.doc.title, marked))
    console.print(line, soft_wrap=True)
    snippet = _snippet(hit.doc.text, marked)
    if snippet is not None:
        console.print(Text("        ") + snippet, soft_wrap=True)


def _highlight(text: str, marked: set[str]) -> Text:
    from rich.text import Text

    from feeds.query import normalise

    out = Text()
    for i, word in enumerate(text.split(" ")):
        if i:
            out.append(" ")
        key = "".join(ch for ch in normalise(word) if ch.isalnum())
        out.append(word, style="bold yellow" if key in marked else None)
    return out


def _snippet(text: str, marked: set[str]) -> Text | None:
    from feeds.query import normalise

    tokens = text.split()
    for i, word in enumerate(tokens):
        if "".join(ch for ch in normalise(word) if ch.isalnum()) in marked:
            start = max(0, i - SNIPPET_WORDS // 2)
            part = " ".join(tokens[start : start + SNIPPET_WORDS])
            prefix = "…" if start else ""
            return _highlight(prefix + part + "…", marked)
    return None
