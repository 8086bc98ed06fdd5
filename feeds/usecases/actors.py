"""The watchlist use cases behind ``newsmon actors``: list, add, remove.

The seed file stays read-only; what users change lives in the database and is merged
with the seed list when an analyzer is built (rules in :mod:`feeds.analysis.actor_list`).
Processes that already hold an analyzer (a running ``newsmon run`` or Celery worker)
see the change after a restart; articles analysed earlier keep their analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# The watchlist's key rule (case and spacing ignored) is the analysis code's: one rule.
from feeds.analysis.actor_list import (
    check_watchlist,
    merge_watchlist,
    watched_entry,
    watchlist_key,
)
from feeds.errors import NotFound
from feeds.models import Actor, WatchedActor
from feeds.ports import Store

Source = Literal["seed", "user", "user, replaces seed"]


@dataclass(frozen=True, slots=True)
class ListedActor:
    actor: Actor
    source: Source


@dataclass(frozen=True, slots=True)
class Watchlist:
    actors: tuple[ListedActor, ...]
    hidden: tuple[str, ...]  # seed actors a user removed


def watchlist(store: Store, seed: Sequence[Actor]) -> Watchlist:
    """The effective watchlist with where each entry comes from; ``seed``: the seed file's."""
    with store.transaction() as repo:
        user = repo.list_watched_actors()
    seed_names = {watchlist_key(a.name) for a in seed}
    user_names = {watchlist_key(u.name) for u in user if not u.hidden}
    listed = []
    for actor in merge_watchlist(seed, user):
        key = watchlist_key(actor.name)
        source: Source = "seed"
        if key in user_names:
            source = "user, replaces seed" if key in seed_names else "user"
        listed.append(ListedActor(actor, source))
    hidden = tuple(u.name for u in user if u.hidden and watchlist_key(u.name) in seed_names)
    return Watchlist(tuple(listed), hidden)


def add_actor(
    store: Store,
    now: datetime,
    seed: Sequence[Actor],
    name: str,
    kind: str,
    aliases: Sequence[str],
) -> str:
    """Add (or replace) a user entry; returns a one-line report."""
    entry = watched_entry(name, kind, aliases)
    with store.transaction() as repo:
        user = [
            u
            for u in repo.list_watched_actors()
            if watchlist_key(u.name) != watchlist_key(entry.name)
        ]
        check_watchlist(merge_watchlist(seed, [*user, entry]))
        repo.save_watched_actor(entry, now)
    notes = []
    if any(watchlist_key(a.name) == watchlist_key(entry.name) for a in seed):
        notes.append("replaces the seed entry")
    claimed = {watchlist_key(n) for n in (entry.name, *entry.aliases)}
    for actor in seed:
        if watchlist_key(actor.name) == watchlist_key(entry.name):
            continue
        taken = [n for n in (actor.name, *actor.aliases) if watchlist_key(n) in claimed]
        if taken:
            notes.append(f"takes {', '.join(taken)} from seed actor {actor.name}")
    note = f" ({'; '.join(notes)})" if notes else ""
    return f"added actor {entry.name} ({entry.type}){note}"


def remove_actor(store: Store, now: datetime, seed_list: Sequence[Actor], name: str) -> str:
    """Delete a user entry, or hide a seed actor; returns a one-line report."""
    seed = {watchlist_key(a.name): a for a in seed_list}
    key = watchlist_key(name)
    with store.transaction() as repo:
        entry = next((u for u in repo.list_watched_actors() if watchlist_key(u.name) == key), None)
        if entry is not None and not entry.hidden:
            repo.delete_watched_actor(entry.name)
            if key in seed:
                return f"removed your entry for {entry.name}; the seed entry applies again"
            return f"removed actor {entry.name}"
        if key in seed and entry is None:
            actor = seed[key]
            hidden = WatchedActor(actor.name, actor.type, actor.aliases, hidden=True)
            repo.save_watched_actor(hidden, now)
            return f"removed seed actor {actor.name} (add it again to restore it)"
    raise NotFound(f"no actor named {name!r} on the watchlist (see `newsmon actors list`)")
