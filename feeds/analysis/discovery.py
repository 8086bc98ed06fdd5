"""Discovery: actors an article names that are not on the watchlist.

Principles
----------
Discovery feeds exports and digests with *new* names, so a reader can decide what to
watch next. A wrong name costs a reader's glance, a missed one costs nothing until the
name comes back; so we keep only names with a cue, and never re-report a watched actor.
No model is loaded: capitalisation and cue words do the work, which keeps every decision
explainable and costs microseconds per article.

The heuristic
-------------
1. **Candidates** are runs of capitalised words ("Rishi Sunak", "Bank of England"); the
   small words "of (the)", "for (the)", "de", "al", "bin", "von", "van" may sit inside a
   run, never at its ends ("and" may not: "Labour and the Greens" are two names). A run's
   leading function words ("The", "But", "In" ...), a leading day ("Tuesday's General
   Assembly", "Monday Ann Lee said") or month with a possessive ("March's"), and a trailing
   possessive ("'s") are dropped, as are runs made only of calendar words or other common
   capitalised words.
2. **Cues** decide whether a candidate is an actor, and of which type:

   * a **title** before a name ("President", "Prime Minister", "Mr", "Dr", "Gen.", "Sir",
     "spokesman" ...) makes it a *person*; the title, and any qualifier before it
     ("Health Secretary", "Bank of England Governor"), is not part of the name;
   * an **organisation word** inside the run ("Ministry", "Party", "Bank", "Council",
     "Agency", "Group", "University" ...) makes it an *organisation*;
   * an **acronym** (2-6 capitals, "NHS", "OSCE") seen twice makes an *organisation*;
   * a **speech verb** next to a name of two or three words ("Ann Lee said", "said Ann
     Lee", "Ann Lee, who told") makes it a *person*;
   * a single capitalised word after "in", "from", "near", "across" … ("military training
     in Rostov", "near Kherson") is a *place*: a location, not an actor, so it is never
     reported, and its bare mentions elsewhere in the article are not either. (A place
     that is also an actor, a country or a capital standing for its government, belongs
     on the watchlist, which always wins.)

3. **Canonical name**: persons are grouped by surname within an article: "President Ann
   Lee", "Ann Lee" and a later bare "Lee" are one actor called "Ann Lee" (the longest
   form seen). A bare surname with no full form keeps the surname. Across articles the
   digest merges actors by name ignoring case.
4. **Watched actors win**: a candidate that overlaps a watchlist mention, or whose name
   (or surname) is a watched name or alias, is dropped, so "President Putin" is never a
   new actor when Putin is watched.
5. At most :data:`MAX_DISCOVERED` actors per article, most mentioned first.

Pronouns are not resolved: a discovered or watched actor's mentions are its names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from feeds.analysis.spans import SpanSet
from feeds.models import ActorType

MAX_DISCOVERED = 8


def _phrases(text: str) -> frozenset[str]:
    """A comma-separated list of lower-case words or phrases."""
    return frozenset(" ".join(p.split()) for p in text.split(",") if p.strip())


# Small words that may join capitalised words inside one name ("Bank of England").
_CONNECTORS = r"(?:of|for)(?:[ \t]+the)?|de|al|bin|von|van|du|la|del|da"
_TITLES = _phrases(
    """
    president, prime minister, minister, foreign minister, defence minister,
    defense minister, chancellor, secretary, foreign secretary, defence secretary, mr, mrs,
    ms, dr, sir, dame, lord, lady, king, queen, prince, princess, pope, general, gen, lt,
    colonel, col, major, captain, admiral, commander, senator, sen, rep, representative,
    governor, gov, mayor, judge, justice, ambassador, envoy, spokesman, spokeswoman,
    spokesperson, chairman, chairwoman, chief, ceo, director, professor, prof, leader,
    premier, vice president, deputy, sheikh, archbishop, bishop, rev, father, officer,
    sergeant, sgt, chief executive
    """
)
_ORG_WORDS = _phrases(
    """
    ministry, department, party, council, commission, agency, bank, company, corporation,
    corp, group, inc, ltd, plc, llc, university, college, army, navy, force, forces, guard,
    court, parliament, congress, senate, committee, organisation, organization, union,
    association, institute, foundation, office, service, services, police, fund, federation,
    league, authority, board, news, times, post, bureau, assembly, alliance, coalition,
    movement, brigade, battalion, regiment, command, society, network, press, trust, centre,
    center, tribunal, cabinet, government, administration, directorate, intelligence,
    airlines, airways, motors
    """
)
_SPEECH = (
    r"said|says|say|told|tells|added|adds|stated|warned|warns|claimed|claims|insisted|"
    r"argued|argues|wrote|writes|announced|announces|tweeted|posted|explained|noted|"
    r"confirmed|denied|accused|urged|declared|admitted|replied|responded"
)
_FUNCTION_WORDS = _phrases(
    """
    the, a, an, but, and, or, in, on, at, as, if, it, its, he, she, they, we, i, you, his,
    her, their, our, this, that, these, those, there, here, when, while, after, before,
    since, for, from, to, of, with, by, yet, so, however, meanwhile, also, although, though,
    despite, according, not, no, one, some, many, most, all, every, each, both, such, what,
    who, why, how, where, which, last, next, first, earlier, later, now, then, today,
    yesterday, tomorrow, asked, speaking, writing, under, over, about, among, because,
    unlike, like, instead, even, still, only, just, more, less, read, more:, update, watch,
    live, breaking, exclusive, analysis, opinion, photo
    """
)
_WEEKDAYS = _phrases("monday, tuesday, wednesday, thursday, friday, saturday, sunday")
_MONTHS = _phrases(
    "january, february, march, april, may, june, july, august, september, october, november, "
    "december"
)
_OTHER_COMMON = _phrases(
    """
    christmas, easter, god, internet, covid, english, north, south, east, west, western,
    eastern, northern, southern, central, new, old, great, world, war, day, year, week, am,
    pm, tv, ok, bbc, cnn, ap, afp, reuters, uk, us, eu, un, ai, ceo, gdp, covid-19
    """
)
_COMMON_CAPITALISED = _WEEKDAYS | _MONTHS | _OTHER_COMMON
_PLACE_CUES = r"in|from|near|across|outside|inside|around|towards|toward"
_ROMAN = re.compile(r"^[IVXLC]+$")

# A capitalised word: a capital, then letters, digits, apostrophes, hyphens or dots,
# ending in a word character. Whitespace between words may include a line break.
_WORD = r"[A-Z][\w’'.\-]*\w|[A-Z]"
_RUN = re.compile(
    rf"(?<![\w’'\-])(?:{_WORD})(?:[ \t]*\n?[ \t]*(?:(?:{_CONNECTORS})[ \t]+)?(?:{_WORD}))*"
)
_FIRST_WORD = re.compile(r"(\S+)\s+(?=\S)")
_ACRONYM = re.compile(r"^[A-Z]{2,6}$")
_POSSESSIVE = re.compile(r"[’']s?$")


@dataclass(frozen=True, slots=True)
class DiscoveredActor:
    """A name found without the watchlist, with the spans of its mentions."""

    name: str
    type: ActorType
    spans: tuple[tuple[int, int], ...]


@dataclass
class _Group:
    name: str
    type: ActorType
    cue: bool
    spans: list[tuple[int, int]] = field(default_factory=list)


def _strip_run(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading function/title words and a trailing possessive from a run's span."""
    while True:
        head = _FIRST_WORD.match(text, start, end)
        if head is None or not _is_leading_filler(head.group(1).casefold().rstrip(".,")):
            break
        start = head.end()
    tail = _POSSESSIVE.search(text, start, end)
    if tail and tail.start() > start:
        end = tail.start()
    while end > start and text[end - 1] in ".-’'":
        end -= 1
    return start, end


def _is_leading_filler(word: str) -> bool:
    """A run's first word that belongs to the sentence, not to the name after it. A bare
    month stays: "May" and "March" are also surnames and names."""
    bare = _POSSESSIVE.sub("", word)
    return word in _FUNCTION_WORDS or bare in _WEEKDAYS or (bare != word and bare in _MONTHS)


def _title_before(text: str, start: int, end: int) -> tuple[int, bool]:
    """If a title precedes or opens the run ``text[start:end]``, return the name's start.

    A title may follow a capitalised qualifier inside the run ("Health Secretary Ann
    Lee", "Bank of England Governor Andrew Bailey"): the name is what follows the last
    title, when that begins with a capital.
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    cut = None
    for i in range(len(words)):
        for size in (3, 2, 1):
            if i + size >= len(words):
                continue
            phrase = " ".join(
                text[start + a : start + b].rstrip(".,") for a, b in words[i : i + size]
            )
            after = text[start + words[i + size][0]]
            rest = text[start + words[i + size][0] : end].rstrip(".,").casefold()
            # "General Assembly", "General Motors": a title word that names an organisation
            if rest in _ORG_WORDS:
                continue
            if phrase.casefold() in _TITLES and after.isupper():
                cut = start + words[i + size][0]
                break
    if cut is not None:
        return cut, True
    window = text[max(0, start - 40) : start]
    tokens = window.replace(",", " ").split()
    for size in (3, 2, 1):
        head = " ".join(t.rstrip(".") for t in tokens[-size:]).casefold()
        if len(tokens) >= size and head in _TITLES:
            return start, True
    return start, False


def find_candidates(text: str) -> Iterable[tuple[int, int, bool]]:
    """Capitalised runs as (start, end, titled), after stripping titles and function words."""
    for run in _RUN.finditer(text):
        start, end = _strip_run(text, run.start(), run.end())
        if end <= start:
            continue
        start, titled = _title_before(text, start, end)
        start, end = _strip_run(text, start, end)
        if end > start:
            yield start, end, titled


def _is_common(name: str) -> bool:
    words = [w.casefold().strip(".’'") for w in name.split()]
    return all(w in _COMMON_CAPITALISED or w in _FUNCTION_WORDS or w in _TITLES for w in words)


def _has_speech_cue(text: str, start: int, end: int) -> bool:
    after = re.match(rf"(?:,[^,.]{{0,40}},)?\s+(?:{_SPEECH})\b", text[end : end + 60])
    before = re.search(rf"\b(?:{_SPEECH})[ ,]+$", text[max(0, start - 20) : start])
    return bool(after or before)


def _has_place_cue(text: str, start: int) -> bool:
    return bool(re.search(rf"\b(?:{_PLACE_CUES})\s+(?:the\s+)?$", text[max(0, start - 16) : start]))


_PLACE: tuple[ActorType, bool] = ("other", False)  # a location: remembered, never reported


def _classify(text: str, start: int, end: int, titled: bool) -> tuple[ActorType, bool] | None:
    """(type, strong cue) for one candidate, :data:`_PLACE` for a location, or None when no
    cue makes it an actor."""
    name = " ".join(text[start:end].split())
    words = name.split()
    lowered = {w.casefold().strip(".") for w in words}
    if lowered & _ORG_WORDS and len(words) > 1:
        return "organisation", True
    if titled and not _ACRONYM.match(name):
        return "person", True
    if len(words) == 1 and _ACRONYM.match(name) and not _ROMAN.match(name):
        return "organisation", False
    if 2 <= len(words) <= 3 and _has_speech_cue(text, start, end):
        return "person", True
    if len(words) == 1 and _has_place_cue(text, start):
        return _PLACE
    if len(words) == 1 and _has_speech_cue(text, start, end):
        return "person", False
    return None


def discover_actors(
    text: str,
    watched_spans: Sequence[tuple[int, int]],
    watched_names: Iterable[str],
) -> list[DiscoveredActor]:
    """New actors in ``text``, by the module's heuristic; most mentioned first."""
    known = {" ".join(n.casefold().split()) for n in watched_names}
    groups: dict[str, _Group] = {}
    surnames: dict[str, str] = {}  # surname -> key of the person group it belongs to
    weak_singles: list[tuple[str, int, int, ActorType]] = []
    places: set[str] = set()
    watched = SpanSet(watched_spans)
    for start, end, titled in find_candidates(text):
        if watched.overlaps(start, end):
            continue
        name = " ".join(text[start:end].split())
        if _is_common(name) or name.casefold() in known:
            continue
        verdict = _classify(text, start, end, titled)
        if verdict is None:
            weak_singles.append((name, start, end, "other"))
            continue
        if verdict is _PLACE:
            places.add(name.casefold())
            continue
        kind, strong = verdict
        if kind == "person" and name.split()[-1].casefold() in known:
            continue  # "Mr Putin" when Putin is watched
        key = name.casefold()
        if kind == "person" and len(name.split()) == 1 and name.casefold() in surnames:
            key = surnames[name.casefold()]
        group = groups.setdefault(key, _Group(name, kind, strong))
        group.cue = group.cue or strong
        group.spans.append((start, end))
        if kind == "person" and len(name.split()) > 1:
            surname = name.split()[-1].casefold()
            surnames.setdefault(surname, key)
            single = groups.pop(surname, None)
            if single is not None and single is not group and single.type == "person":
                group.spans.extend(single.spans)
    # bare surnames without a cue of their own ("Lee", after "Ann Lee said")
    for name, start, end, _ in weak_singles:
        owner = surnames.get(name.casefold())
        if owner is not None and len(name.split()) == 1:
            groups[owner].spans.append((start, end))
        elif name.casefold() in groups:
            groups[name.casefold()].spans.append((start, end))
    kept = [
        g
        for key, g in groups.items()
        if (g.cue or len(g.spans) >= 2)
        and not (g.type == "other" and len(g.spans) < 2)
        and not (key in places and not g.cue)
    ]
    kept.sort(key=lambda g: (-len(g.spans), min(g.spans)))
    return [
        DiscoveredActor(g.name, g.type, tuple(sorted(set(g.spans)))) for g in kept[:MAX_DISCOVERED]
    ]
