"""The actor watchlist: parse it from TOML and find actor mentions in text.

Alias policy (mirrored in the header of ``seeds/actors.toml``)
---------------------------------------------------------------
A mention is a name *as the news uses it for the actor's conduct*; precision beats recall,
because a false mention puts somebody else's sentence into an actor's sentiment.

* The actor's ``name`` and every alias count. Metonyms that news uses for a government
  are aliases of the country: "Kremlin" and "Moscow" mean Russia, "Kyiv" Ukraine,
  "Washington" the United States. The city sense ("a concert in Moscow") is rarer in
  the news we watch, and we accept that noise.
* A nationality adjective alone ("Russian") is *not* a mention: it mostly describes
  people, language or goods ("Russian speakers", "Russian oil", a "Russian-born artist")
  whose sentences say nothing about the state's conduct. It counts only inside listed
  fixed phrases that name an agent of the state: "Russian forces", "Russian military",
  "Russian government" …
* A leading "the" is not part of a name: "the Kremlin" is found through "Kremlin".

Matching rules
--------------
* Whole words only: "Russia" is not found in "Prussia"; a possessive ("Russia's",
  "Russia’s") or a hyphenated compound ("Kremlin-backed") still counts, and the span
  covers the name only.
* Case: aliases of several words match in any case ("European parliament", headlines in
  Title Case or capitals). Single-word aliases must start with a capital as written,
  the rest in any case ("RUSSIA" yes, "china" the porcelain no). Short aliases of at most
  three letters ("US", "UN", "EU", "MoD", "U.S.") match exactly as written, so "us" and
  "un-" are never the United States or the United Nations.
* Layout: the words of a name may be separated by any whitespace, line breaks included
  ("Vladimir\\nPutin"), or by a hyphen; a word may be broken by end-of-line hyphenation
  ("Zelen-\\nsky") or a soft hyphen.
* Overlaps: the longest match wins ("Vladimir Putin" over "Putin", "UK Ministry of
  Defence" over "UK"); an alias may belong to one actor only.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from typing import NamedTuple, get_args

from feeds.analysis.spans import SpanSet
from feeds.errors import ConfigError
from feeds.models import Actor, ActorType

_ACTOR_TYPES: frozenset[str] = frozenset(get_args(ActorType))

# Between two words of a name: whitespace (line breaks included) and/or one hyphen.
_WORD_GAP = r"(?:\s*[-‐‑]\s*|\s+)"
# Inside a word: a soft hyphen, or end-of-line hyphenation.
_IN_WORD_BREAK = r"(?:\u00ad|-[ \t]*\r?\n[ \t]*)?"
_APOSTROPHES = "'’"
_SHORT_ALIAS_LETTERS = 3


class Mention(NamedTuple):
    actor: Actor
    start: int
    end: int  # exclusive


def parse_watchlist(text: str) -> list[Actor]:
    """Actors from TOML ``[[actor]]`` tables with ``name``, ``type`` and ``aliases``.

    Raises :class:`ConfigError` for malformed TOML, a missing or unknown field, a
    duplicate actor, or an alias claimed by two actors.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"watchlist is not valid TOML: {exc}") from exc
    tables = data.get("actor")
    if not isinstance(tables, list) or not tables:
        raise ConfigError("watchlist needs at least one [[actor]] table")
    actors = [_actor_from_table(i, table) for i, table in enumerate(tables, start=1)]
    _check_unique_names(actors)
    return actors


def _actor_from_table(index: int, table: object) -> Actor:
    if not isinstance(table, dict):
        raise ConfigError(f"actor #{index} is not a table")
    unknown = set(table) - {"name", "type", "aliases"}
    if unknown:
        raise ConfigError(f"actor #{index}: unknown field(s) {sorted(unknown)}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"actor #{index}: 'name' must be a non-empty string")
    kind = table.get("type")
    if kind not in _ACTOR_TYPES:
        raise ConfigError(f"actor {name!r}: 'type' must be one of {sorted(_ACTOR_TYPES)}")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ConfigError(f"actor {name!r}: 'aliases' must be a list of non-empty strings")
    return Actor(name=name.strip(), type=kind, aliases=tuple(a.strip() for a in aliases))


def _check_unique_names(actors: Iterable[Actor]) -> None:
    seen: set[str] = set()
    for actor in actors:
        key = actor.name.casefold()
        if key in seen:
            raise ConfigError(f"actor {actor.name!r} is listed twice")
        seen.add(key)


class ActorMatcher:
    """Finds mentions of watched actors; build once, reuse for every text."""

    def __init__(self, actors: Sequence[Actor]) -> None:
        owner: dict[str, Actor] = {}
        self._patterns: list[tuple[re.Pattern[str], Actor]] = []
        for actor in actors:
            for alias in dict.fromkeys((actor.name, *actor.aliases)):
                key = " ".join(alias.casefold().split())
                previous = owner.setdefault(key, actor)
                if previous is not actor:
                    raise ConfigError(
                        f"alias {alias!r} belongs to both {previous.name!r} and {actor.name!r}"
                    )
                self._patterns.append((alias_pattern(alias), actor))

    def find(self, text: str) -> list[Mention]:
        """Non-overlapping mentions in text order; the longest wins an overlap."""
        candidates = [
            Mention(actor, m.start(), m.end())
            for pattern, actor in self._patterns
            for m in pattern.finditer(text)
        ]
        # Longest first (earliest on ties), then keep what does not overlap a kept span.
        candidates.sort(key=lambda c: (c.start - c.end, c.start))
        taken = SpanSet()
        kept = [cand for cand in candidates if taken.add_if_free(cand.start, cand.end)]
        kept.sort(key=lambda c: c.start)
        return kept


def alias_pattern(alias: str) -> re.Pattern[str]:
    """The compiled pattern for one alias, following the module's matching rules.

    The "not preceded by a word character" check sits *after* the first character:
    a pattern that starts with a literal (or a two-letter class) lets the regex engine
    jump between candidate positions, which is an order of magnitude faster than testing
    a look-behind at every position of the text.
    """
    words = re.split(r"[\s\-‐‑]+", alias.strip())
    first, rest_of_first = words[0][0], words[0][1:]
    rest = _word_pattern(rest_of_first, leading_break=True) + "".join(
        _WORD_GAP + _word_pattern(w) for w in words[1:]
    )
    if sum(ch.isalpha() for ch in alias) <= _SHORT_ALIAS_LETTERS:
        head, tail = _char_pattern(first), rest
    elif len(words) > 1:
        head, tail = _either_case(first), f"(?i:{rest})"
    else:
        head, tail = _char_pattern(first), f"(?i:{rest})"
    return re.compile(rf"{head}(?<!\w.){tail}(?!\w)")


def _word_pattern(word: str, *, leading_break: bool = False) -> str:
    parts = [_char_pattern(ch) for ch in word]
    joined = _IN_WORD_BREAK.join(parts)
    return _IN_WORD_BREAK + joined if leading_break and parts else joined


def _either_case(ch: str) -> str:
    variants = dict.fromkeys((ch.upper(), ch.lower()))
    return "[" + "".join(re.escape(v) for v in variants) + "]"


def _char_pattern(ch: str) -> str:
    if ch in _APOSTROPHES:
        return f"[{_APOSTROPHES}]"
    return re.escape(ch)
