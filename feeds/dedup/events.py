"""Event features: when an article says its event happened, and the figures that identify it.

Why
---
Two earthquakes a few days apart share their vocabulary, often their region, sometimes
their names; what tells them apart is *when* ("on Tuesday", "May 3") and *how much*
(magnitude 6.1 against 5.4, 14 dead against 3). The same features also say the opposite:
two short articles whose words overlap only a little but that name the same day and the
same magnitude are very likely one event. Grouping uses them both ways
(:mod:`feeds.dedup.stories`): a disagreement refuses a merge, an agreement lets a lower
word similarity join.

What is extracted (pure, one regular-expression pass per kind over the lead):

* **dates** in the headline and the first :data:`LEAD_LINES` lines -- where news says
  when its event happened; later lines recall the background ("she was at the clinic in
  2010"). Absolute dates ("March 3", "3 March 2013") and relative ones ("on Tuesday",
  "yesterday") are resolved against the article's publication time; a month and day
  without a year take the year that puts them nearest the publication time.
* **magnitudes** ("magnitude 6.1", "6.1-magnitude"), anywhere in the text;
* **tolls** ("14 dead", "killing 14", "14 people were killed"), anywhere in the text;
* **ages** ("33-year-old", ", 33,"): the protagonist's age changes between two events of
  one person a year or more apart;
* **scores and win-loss records** ("88-72", "52-3"), anywhere in the text: a team's or a
  fighter's record moves with every game, so it tells two events of one protagonist
  apart even in the same week -- the one kind whose disagreement refuses a merge by
  default (:data:`CONFLICT_KINDS`).

The features travel in a story's signature like the names do, under keys that start
with :data:`EVENT_PREFIX` ("@d:2013-05-03", "@s:52-3", "@m:6.1", "@k:14", "@a:33"), so storage needs
no new column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = [
    "EVENT_PREFIX",
    "EventMatch",
    "compare_events",
    "LEAD_LINES",
    "event_keys",
    "lead_dates",
    "magnitudes",
    "tolls",
    "ages",
    "records",
]

EVENT_PREFIX = "@"
# The headline and this many lines after it are the lead (where the event's date is).
LEAD_LINES = 3
# Two dates this many days apart or less are one day told from two places or papers.
DATE_TOLERANCE = 1
# Whether dates resolved from "on Tuesday", "yesterday" take part in comparisons. Off: the
# quality bench serves its articles at simulated times unrelated to the days their texts
# name, so it cannot measure them (docs/BENCHMARKS.md, "Stories v2"); they are still extracted
# and stored ("@r:" keys), so turning this on needs no re-indexing.
RELATIVE_DATES = False
# Kinds of figure whose disagreement refuses a merge: scores and win-loss records. Ages
# ("a") also separate two events of one person, but on the tuning topics they refused
# more right joins than wrong ones (another person's age); magnitudes ("m") are revised
# within hours (6.1, then 6.0) and no tuning topic has one. Both still count as agreement.
CONFLICT_KINDS = frozenset({"s"})

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:\s*,?\s*((?:19|20)\d\d))?"
# "March 3", "March 3, 2013", "May 03 , 2013" (tokenised text has spaces before commas).
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}")
# "3 March", "3rd of March 2013".
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b{_YEAR}")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_RELATIVE = re.compile(r"\b(yesterday|today|tonight|this morning)\b", re.IGNORECASE)

# Not preceded by a digit or a decimal point: the "1" of "magnitude 6.1" is no figure.
_NUMBER = r"(?<![\d.,])(\d{1,3}(?:,\d{3})*|\d+)"
_MAGNITUDE = re.compile(
    r"\bmagnitude(?:\s+of)?\s*[-–]?\s*(\d(?:\.\d)?)\b|\b(\d\.\d)\s*[-–]?\s*magnitude\b",
    re.IGNORECASE,
)
_DEAD = r"(?:dead|killed|deaths|died|fatalities|bodies)"
_TOLL = re.compile(
    rf"\b{_NUMBER}\s+(?:\w+\s+){{0,2}}?(?:people\s+|persons\s+)?(?:were\s+|are\s+|have\s+)?"
    rf"{_DEAD}\b|\bkill(?:ed|ing)\s+(?:at\s+least\s+)?{_NUMBER}\b"
    rf"|\b(?:death\s+toll|toll)\s+(?:\w+\s+){{0,3}}?(?:to|at|of)\s+{_NUMBER}\b",
    re.IGNORECASE,
)
# "88-72", "52 - 3"; group 3 catches a compound ("36-year-old", "10-day", "2-1 lead" is
# kept) so that it can be skipped, and a fourth number ("1-2-3") is not a record either.
_RECORD = re.compile(
    r"(?<![\d\-–])\b(\d{1,4})\s?[-–]\s?(\d{1,3})\b(?!\s?[-–]\s?\d)"
    r"(\s?[-–]\s?(?:year|day|week|month|hour|minute|game|point|yard|foot|man|member|round|"
    r"time|seat|page|mile|metre|meter)s?\b)?",
    re.IGNORECASE,
)
# "33-year-old", "33 - year - old" (tokenised), ", 33 ," after a name.
_AGE = re.compile(r"\b(\d{1,3})\s*-\s*year\s*-\s*old\b|[A-Z][a-z]+\s*,\s*(\d{2})\s*,")


def records(text: str) -> set[str]:
    """Scores and win-loss records ("beat them 88-72", "Klitschko, 52-3"): a team's or a
    fighter's record moves with every game, so two events of one protagonist differ in
    it. Ranges of years ("2008-09") and compounds ("36-year-old") are not records."""
    found = set()
    for match in _RECORD.finditer(text):
        first, second = match.group(1), match.group(2)
        if len(first) == 4 or match.group(3):
            continue
        found.add(f"{int(first)}-{int(second)}")
    return found


def _nearest_year(month: int, day: int, when: date) -> date | None:
    """The date with this month and day nearest ``when`` (a year back, this or next)."""
    best: date | None = None
    for year in (when.year - 1, when.year, when.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if best is None or abs((candidate - when).days) < abs((best - when).days):
            best = candidate
    return best


def _absolute(text: str, when: date) -> Iterable[date]:
    for pattern, month_group, day_group in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        for match in pattern.finditer(text):
            month = _MONTHS[match.group(month_group)[:3].lower()]
            day = int(match.group(day_group))
            year = match.group(3)
            if year:
                try:
                    yield date(int(year), month, day)
                except ValueError:
                    continue
            else:
                found = _nearest_year(month, day, when)
                if found is not None:
                    yield found


def _relative(text: str, when: date) -> Iterable[date]:
    # A weekday named in news is the most recent one: "on Tuesday" in a Thursday paper is
    # two days back; on a Tuesday it is that day.
    for match in _WEEKDAY.finditer(text):
        back = (when.weekday() - _WEEKDAYS.index(match.group(1).lower())) % 7
        yield when - timedelta(days=back)
    for match in _RELATIVE.finditer(text):
        word = match.group(1).lower()
        yield when - timedelta(days=1) if word == "yesterday" else when


def lead_dates(title: str, text: str, published: datetime) -> set[date]:
    """Calendar days the headline and the lead name, resolved against ``published``."""
    lead, when = _lead(title, text), published.date()
    return {*_absolute(lead, when), *_relative(lead, when)}


def _lead(title: str, text: str) -> str:
    lines = [line for line in text.split("\n") if line.strip()][:LEAD_LINES]
    return "\n".join([title, *lines])


def magnitudes(text: str) -> set[str]:
    """Earthquake magnitudes as written, one decimal ("6.1"; "magnitude 6" -> "6.0")."""
    found = set()
    for match in _MAGNITUDE.finditer(text):
        value = match.group(1) or match.group(2)
        found.add(f"{float(value):.1f}")
    return found


def tolls(text: str) -> set[int]:
    """Death tolls stated in the text ("14 dead", "killing 14", "toll rose to 20")."""
    found = set()
    for match in _TOLL.finditer(text):
        value = next(g for g in match.groups() if g)
        if re.fullmatch(r"(?:19|20)\d\d", value):  # "in 2010, 3 were killed": a year
            continue
        found.add(int(value.replace(",", "")))
    return found


def ages(text: str) -> set[int]:
    """Ages of the people named ("the 33-year-old actress", "Reid, 33,")."""
    found = set()
    for match in _AGE.finditer(text):
        value = int(match.group(1) or match.group(2))
        if 0 < value < 120:
            found.add(value)
    return found


def event_keys(title: str, text: str, published: datetime) -> dict[str, float]:
    """The features as signature keys (weight 1 each): ``@d:`` dates written out, ``@r:``
    dates resolved from relative words, ``@m:`` magnitudes, ``@k:`` tolls, ``@a:`` ages."""
    lead, when = _lead(title, text), published.date()
    keys = [f"d:{d.isoformat()}" for d in set(_absolute(lead, when))]
    keys += [f"r:{d.isoformat()}" for d in set(_relative(lead, when))]
    full = f"{title}\n{text}"
    keys += [f"m:{m}" for m in magnitudes(full)]
    keys += [f"k:{k}" for k in tolls(full)]
    keys += [f"a:{a}" for a in ages(full)]
    keys += [f"s:{r}" for r in records(full)]
    return {EVENT_PREFIX + key: 1.0 for key in keys}


def _values(keys: Mapping[str, float], kind: str) -> set[str]:
    prefix = f"{EVENT_PREFIX}{kind}:"
    return {k[len(prefix) :] for k in keys if k.startswith(prefix)}


def _dates(keys: Mapping[str, float], relative: bool) -> set[date]:
    kinds = ("d", "r") if relative else ("d",)
    return {date.fromisoformat(v) for kind in kinds for v in _values(keys, kind)}


@dataclass(frozen=True, slots=True)
class EventMatch:
    """How an article's event features compare with a story's."""

    agree: int  # kinds of feature on which the two sides agree (a date, a magnitude, an age)
    conflict: bool  # a feature both sides state, with no value in common


def compare_events(article: Mapping[str, float], story: Mapping[str, float]) -> EventMatch:
    """Agreement and conflict between two sets of event keys (see :func:`event_keys`).

    * dates agree when one of each side lies within :data:`DATE_TOLERANCE` days of the
      other (the same event told a day apart, "May 2" in one time zone, "May 3" in
      another). A date disagreement is *not* a conflict: the lead also recalls earlier
      events ("skipped a hearing on April 30"), and on the bench such a rule refused as
      many right joins as wrong ones (docs/BENCHMARKS.md, "Stories v2").
    * magnitudes, ages, records and tolls agree on a shared value. Only the kinds in
      :data:`CONFLICT_KINDS` (scores and records) conflict when both sides state some and
      none is shared; the others never do (a magnitude is revised within hours, a story's
      ages are of several people, a toll rises as bodies are found).

    Relative dates ("on Tuesday") count only when :data:`RELATIVE_DATES` is on.
    """
    agree = 0
    mine, theirs = _dates(article, RELATIVE_DATES), _dates(story, RELATIVE_DATES)
    if any(abs((a - b).days) <= DATE_TOLERANCE for a in mine for b in theirs):
        agree += 1
    conflict = False
    for kind in ("m", "a", "s", "k"):
        a_values, s_values = _values(article, kind), _values(story, kind)
        if not a_values or not s_values:
            continue
        if a_values & s_values:
            agree += 1
        elif kind in CONFLICT_KINDS:
            conflict = True
    return EventMatch(agree, conflict)
