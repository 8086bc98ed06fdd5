"""Which entries a subscription's digest lists, in which order: filters, grouping, importance.

Pure functions over :class:`feeds.models.StoredArticle`. A digest lists *entries*, not
articles (docs/ARCHITECTURE.md, "Names"): an entry is the part of one story that the
period holds -- every article with the same ``story_id``; an article not grouped yet is an
entry of its own, and a copy (``duplicate_of``) joins its original's entry. Readers see the
entries counted as "stories".

Filters (every non-empty kind must hold; inside one kind any value will do):

* ``topics``     a topic code or label (ignoring case);
* ``queries``    a monitoring query name: a topic coded ``user:NAME`` (or labelled NAME);
* ``actors``     an actor name (ignoring case);
* ``sentiments`` the coverage of a watched actor (or, without watched actors, of any actor)
                 has one of these sentiments - "only negative coverage of Russia" is
                 ``actors=("Russia",), sentiments=("negative",)``;
* ``outlets``    the feed's title, its host (``example.org`` also matches
                 ``www.example.org``) or its numeric id.

An entry is kept when *any* of its articles passes; its headline comes from the passing
article carried by most outlets (then the earliest, the original).

Importance, highest first (documented in docs/DIGESTS.md)::

    importance = 3.0 * ln(1 + outlets)          outlets: distinct outlets carrying the entry
               + 2.0 * min(watched, 3)          watched: the subscription's actors it mentions
               + 0.75 * recency                 1 for the end of the period, 0 for its start

Coverage breadth dominates (an entry on eight outlets beats one on a single outlet), the
actors the reader watches come next, and recency only breaks near-ties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from feeds.models import FeedRef, Period, StoredArticle, SubscriptionSpec

__all__ = [
    "OTHER_SECTION",
    "DigestEntry",
    "article_matches",
    "build_entries",
    "outlet_name",
    "sectioned",
]

OTHER_SECTION = "Other"
USER_TOPIC_PREFIX = "user:"
W_OUTLETS, W_WATCHED, W_RECENCY = 3.0, 2.0, 0.75


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One entry of a digest: a story's articles in the period (or an ungrouped
    article with its copies), ranked for the subscription."""

    key: str
    lead: StoredArticle
    members: tuple[StoredArticle, ...]  # lead first
    outlets: tuple[str, ...]  # distinct outlet names, the lead's first
    watched: tuple[str, ...]  # the subscription's actors the entry mentions
    importance: float
    section: str

    @property
    def newest(self) -> datetime:
        return max(_when(a) for a in self.members)


def article_matches(article: StoredArticle, spec: SubscriptionSpec) -> bool:
    """Whether one article passes every filter of ``spec``."""
    if spec.topics:
        wanted = {t.casefold() for t in spec.topics}
        if not any(
            t.code.casefold() in wanted or t.label.casefold() in wanted for t in article.topics
        ):
            return False
    if spec.queries:
        codes = {f"{USER_TOPIC_PREFIX}{q}".casefold() for q in spec.queries}
        names = {q.casefold() for q in spec.queries}
        if not any(
            t.code.casefold() in codes
            or (t.code.startswith(USER_TOPIC_PREFIX) and t.label.casefold() in names)
            for t in article.topics
        ):
            return False
    watched = {a.casefold() for a in spec.actors}
    if watched and not any(a.name.casefold() in watched for a in article.actors):
        return False
    if spec.sentiments:
        considered = [a for a in article.actors if not watched or a.name.casefold() in watched]
        if not any(a.sentiment in spec.sentiments for a in considered):
            return False
    return not spec.outlets or any(_outlet_matches(f, spec.outlets) for f in article.feeds)


def build_entries(
    articles: Iterable[StoredArticle], spec: SubscriptionSpec, period: Period
) -> list[DigestEntry]:
    """The entries ``spec`` asks for, most important first."""
    batch = list(articles)
    by_id = {a.id: a for a in batch}
    groups: dict[str, list[StoredArticle]] = {}
    for article in batch:
        groups.setdefault(_digest_key(article, by_id), []).append(article)
    entries = []
    for key, members in groups.items():
        passing = [a for a in members if article_matches(a, spec)]
        if not passing:
            continue
        lead = min(passing, key=lambda a: (-len(a.feeds), _when(a), a.id))
        ordered = (
            lead,
            *sorted((a for a in members if a is not lead), key=lambda a: (_when(a), a.id)),
        )
        entries.append(_entry(key, ordered, spec, period))
    entries.sort(key=_rank)
    return entries


def sectioned(entries: Sequence[DigestEntry]) -> list[tuple[str, list[DigestEntry]]]:
    """Entries by section; sections ordered by their most important entry, Other last."""
    sections: dict[str, list[DigestEntry]] = {}
    for entry in sorted(entries, key=_rank):
        sections.setdefault(entry.section, []).append(entry)
    return sorted(
        sections.items(),
        key=lambda item: (item[0] == OTHER_SECTION, _rank(item[1][0]), item[0].casefold()),
    )


def outlet_name(feed: FeedRef) -> str:
    if feed.title and feed.title.strip():
        return " ".join(feed.title.split())
    return urlsplit(feed.url).hostname or feed.url


# --------------------------------------------------------------------------- internals


def _rank(entry: DigestEntry) -> tuple[float, float, int]:
    return (-entry.importance, -entry.newest.timestamp(), entry.lead.id)


def _digest_key(article: StoredArticle, by_id: dict[int, StoredArticle]) -> str:
    """Which entry the article is in: its story ("s"), else its original's story, else its
    original or itself ("a")."""
    if article.story_id is not None:
        return f"s{article.story_id}"
    original = by_id.get(article.duplicate_of) if article.duplicate_of is not None else None
    if original is not None and original.story_id is not None:
        return f"s{original.story_id}"
    return f"a{article.duplicate_of if original is not None else article.id}"


def _entry(
    key: str, members: tuple[StoredArticle, ...], spec: SubscriptionSpec, period: Period
) -> DigestEntry:
    outlets = tuple(dict.fromkeys(outlet_name(f) for a in members for f in a.feeds))
    wanted = {a.casefold(): a for a in spec.actors}
    mentioned = {x.name.casefold() for a in members for x in a.actors}
    watched = tuple(name for folded, name in wanted.items() if folded in mentioned)
    span = (period.end - period.start).total_seconds()
    newest = max(_when(a) for a in members)
    recency = 1.0 if span <= 0 else (newest - period.start).total_seconds() / span
    recency = min(1.0, max(0.0, recency))
    importance = (
        W_OUTLETS * math.log1p(len(outlets))
        + W_WATCHED * min(len(watched), 3)
        + W_RECENCY * recency
    )
    return DigestEntry(
        key, members[0], members, outlets, watched, round(importance, 6), _section(members[0])
    )


def _section(article: StoredArticle) -> str:
    standard = [t for t in article.topics if not t.code.startswith(USER_TOPIC_PREFIX)]
    chosen = standard[0] if standard else (article.topics[0] if article.topics else None)
    if chosen is None:
        return OTHER_SECTION
    label = " ".join(chosen.label.split())
    return label[:1].upper() + label[1:] if label else OTHER_SECTION


def _outlet_matches(feed: FeedRef, wanted: Sequence[str]) -> bool:
    host = (urlsplit(feed.url).hostname or "").casefold()
    title = (feed.title or "").casefold().strip()
    for value in wanted:
        v = value.casefold().strip()
        if v == title or v == str(feed.id) or (host and (host == v or host.endswith("." + v))):
            return True
    return False


def _when(article: StoredArticle) -> datetime:
    moment = article.published or article.first_seen
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
