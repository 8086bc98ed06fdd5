"""``newsmon actors``: the watchlist (seed file plus the user's additions and removals)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from worker.cli.base import adding, command_group, container
from worker.cli.output import console

group = command_group("Manage the actor watchlist (who sentiment is reported toward).")


@group.command("list")
def actors_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per actor.")] = False,
) -> None:
    """List watched actors: the seed file merged with your additions and removals."""
    from feeds.usecases import actors
    from worker.bootstrap import seed_actors

    c = container()
    listed = actors.watchlist(c.store, seed_actors(c.settings))
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


@group.command("add")
def actors_add(
    name: str,
    type_: Annotated[str, typer.Option("--type", help="person | organisation | country | other")],
    alias: Annotated[
        list[str] | None, typer.Option("--alias", help="Another name; repeat for several.")
    ] = None,
) -> None:
    """Watch an actor (a seed actor of the same name is replaced by yours)."""
    from feeds.usecases import actors
    from worker.bootstrap import seed_actors

    with adding() as c:
        seed = seed_actors(c.settings)
        message = actors.add_actor(c.store, c.pipeline.clock.now(), seed, name, type_, alias or [])
    console.print(message, markup=False, highlight=False)


@group.command("remove")
def actors_remove(name: str) -> None:
    """Stop watching an actor (yours is deleted; a seed actor is hidden)."""
    from feeds.usecases import actors
    from worker.bootstrap import seed_actors

    c = container()
    seed = seed_actors(c.settings)
    message = actors.remove_actor(c.store, c.pipeline.clock.now(), seed, name)
    console.print(message, markup=False, highlight=False)
