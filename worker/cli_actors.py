"""``newsmon actors``: the watchlist (seed file plus the user's additions and removals)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from worker import bootstrap
from worker.cli import _typer
from worker.cli_output import console

actors_app = _typer("Manage the actor watchlist (who sentiment is reported toward).")


@actors_app.command("list")
def actors_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per actor.")] = False,
) -> None:
    """List watched actors: the seed file merged with your additions and removals."""
    from worker.actors import watchlist

    listed = watchlist(bootstrap.container())
    for item in listed.actors:
        a = item.actor
        if as_json:
            obj = {"name": a.name, "type": a.type, "aliases": list(a.aliases)}
            typer.echo(json.dumps(obj | {"source": item.source}, ensure_ascii=False))
        else:
            aliases = f" — {', '.join(a.aliases)}" if a.aliases else ""
            console.print(
                f"{a.name} ({a.type}, {item.source}){aliases}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if listed.hidden and not as_json:
        console.print(f"removed seed actors: {', '.join(listed.hidden)}", markup=False)


@actors_app.command("add")
def actors_add(
    name: str,
    type_: Annotated[str, typer.Option("--type", help="person | organisation | country | other")],
    alias: Annotated[
        list[str] | None, typer.Option("--alias", help="Another name; repeat for several.")
    ] = None,
) -> None:
    """Watch an actor (a seed actor of the same name is replaced by yours)."""
    from worker.actors import add_actor

    message = add_actor(bootstrap.container(), name, type_, alias or [])
    console.print(message, markup=False, highlight=False)


@actors_app.command("remove")
def actors_remove(name: str) -> None:
    """Stop watching an actor (yours is deleted; a seed actor is hidden)."""
    from worker.actors import remove_actor

    console.print(remove_actor(bootstrap.container(), name), markup=False, highlight=False)
