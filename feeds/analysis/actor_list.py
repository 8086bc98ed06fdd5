"""The effective watchlist: the seed file merged with the actors users add or remove.

Precedence (the user wins, because the user spoke last and the seed file is a default):

1. A user entry marked *hidden* removes the seed actor of that name (``newsmon actors
   remove`` on a seed actor); adding the name again brings it back with the user's fields.
2. A user entry with the name of a seed actor (names compare ignoring case) replaces that
   seed actor whole: its type and aliases are the user's.
3. A name or alias a user actor claims is taken away from any seed actor that also has it;
   a seed actor whose own name is claimed is dropped (the user has, in effect, renamed it).
4. User actors cannot conflict with each other: :func:`check_watchlist` is run before an
   entry is saved, so ``newsmon actors add`` refuses an alias another actor already owns.

Seed actors keep the order of the seed file; user actors follow, sorted by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from feeds.analysis.watchlist import ActorMatcher
from feeds.errors import ConfigError, InvalidInput
from feeds.models import Actor, ActorType, WatchedActor

_TYPES: dict[str, ActorType] = {t: t for t in get_args(ActorType)}


def watchlist_key(name: str) -> str:
    """The identity of an actor name: case and spacing do not count."""
    return " ".join(name.casefold().split())


def merge_watchlist(seed: Sequence[Actor], user: Sequence[WatchedActor]) -> list[Actor]:
    """The actors to match, by the module's precedence rules."""
    by_user = {watchlist_key(u.name): u for u in user}
    active_user = sorted((u for u in user if not u.hidden), key=lambda u: watchlist_key(u.name))
    claimed = {watchlist_key(n) for u in active_user for n in (u.name, *u.aliases)}
    merged: list[Actor] = []
    for actor in seed:
        if watchlist_key(actor.name) in by_user or watchlist_key(actor.name) in claimed:
            continue
        aliases = tuple(a for a in actor.aliases if watchlist_key(a) not in claimed)
        merged.append(Actor(actor.name, actor.type, aliases))
    merged.extend(Actor(u.name, u.type, u.aliases) for u in active_user)
    return merged


def check_watchlist(actors: Sequence[Actor]) -> None:
    """Raise :class:`InvalidInput` when two actors share a name or alias."""
    names: set[str] = set()
    for actor in actors:
        if watchlist_key(actor.name) in names:
            raise InvalidInput(f"actor {actor.name!r} is listed twice")
        names.add(watchlist_key(actor.name))
    try:
        ActorMatcher(actors)
    except ConfigError as exc:  # the matcher's message, as the user's mistake
        raise InvalidInput(str(exc)) from None


def watched_entry(name: str, kind: str, aliases: Sequence[str]) -> WatchedActor:
    """Validate ``newsmon actors add`` input into a :class:`WatchedActor`."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("an actor needs a non-empty name")
    actor_type = _TYPES.get(kind)
    if actor_type is None:
        raise InvalidInput(f"--type {kind!r}: use person, organisation, country or other")
    cleaned = []
    for alias in aliases:
        alias = " ".join(alias.split())
        if not alias or not any(ch.isalnum() for ch in alias):
            raise InvalidInput(f"alias {alias!r} must contain a letter or digit")
        if watchlist_key(alias) != watchlist_key(clean) and alias not in cleaned:
            cleaned.append(alias)
    if not any(ch.isalnum() for ch in clean):
        raise InvalidInput(f"actor name {clean!r} must contain a letter or digit")
    return WatchedActor(clean, actor_type, tuple(cleaned))
