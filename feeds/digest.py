"""Digest selection and rendering: pure functions from stored articles to an email.

The pipeline asks storage for the articles first seen in a period, then calls
:func:`build_digest`; the result goes to a :class:`feeds.ports.Mailer`. Nothing here talks
to a database, the network or the clock, so a digest is reproducible from its inputs.

Design decisions:

* Selection (:func:`select_articles`) is idempotent, so :func:`build_digest` applies it again
  and a caller that forgot to filter still honours the subscription.
* Templates receive small, already-formatted view objects (:class:`DigestSection`,
  :class:`DigestEntry` ...) rather than raw articles: the logic stays testable in Python and
  the templates stay declarative.
* Everything that came from a feed is untrusted. The HTML template autoescapes, links are
  only emitted for ``http``/``https`` URLs (a feed could carry ``javascript:``), and the
  HTML uses inline styles only - no scripts, no remote images or stylesheets - because mail
  clients block or strip those anyway and they would leak that the digest was opened.
* Times are shown in the subscription's own time zone; month names are spelled out here
  rather than through ``strftime`` so the output does not depend on the process locale.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from feeds.errors import InvalidInput
from feeds.models import (
    DigestEmail,
    Period,
    Sentiment,
    StoredArticle,
    Subscription,
    SubscriptionSpec,
)
from feeds.schedule import zone

__all__ = [
    "OTHER_SECTION",
    "ActorChip",
    "ActorTally",
    "DigestEntry",
    "DigestSection",
    "NewName",
    "actor_overview",
    "build_digest",
    "digest_subject",
    "group_sections",
    "message_id_for",
    "new_names",
    "select_articles",
    "truncate_words",
]

#: The section for articles the classifier gave no topic.
OTHER_SECTION = "Other"
SUMMARY_LIMIT = 300
EVIDENCE_LIMIT = 240

_SCHEDULE_LABEL = {"daily": "Daily digest", "weekly": "Weekly digest", "immediate": "News alert"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")

# --------------------------------------------------------------------------- view objects


@dataclass(frozen=True, slots=True)
class ActorChip:
    name: str
    sentiment: Sentiment
    evidence: str | None
    watched: bool = True  # False: a name found by discovery, shown as new


@dataclass(frozen=True, slots=True)
class DigestEntry:
    title: str
    url: str | None  # None when the article had no safe (http/https) link
    outlets: tuple[str, ...]
    published: str
    summary: str
    topics: tuple[str, ...]
    actors: tuple[ActorChip, ...]


@dataclass(frozen=True, slots=True)
class DigestSection:
    title: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class ActorTally:
    """How often an actor came up in a digest and with which sentiment (counted per article)."""

    name: str
    mentions: int
    negative: int = 0
    neutral: int = 0
    positive: int = 0

    @property
    def dominant(self) -> Sentiment | None:
        """The most frequent sentiment, or None when the top two are tied."""
        counts = sorted(
            ((self.negative, "negative"), (self.neutral, "neutral"), (self.positive, "positive")),
            reverse=True,
        )
        if counts[0][0] == 0 or counts[0][0] == counts[1][0]:
            return None
        best: Sentiment = counts[0][1]  # type: ignore[assignment]
        return best


@dataclass(frozen=True, slots=True)
class NewName:
    """An actor not on the watchlist that discovery found in the digest's articles."""

    name: str
    type: str
    articles: int


#: Discovered actors shown per article, and in a digest's list of new names.
NEW_CHIPS_PER_ARTICLE = 3
NEW_NAMES_LIMIT = 10

# --------------------------------------------------------------------------- selection


def select_articles(
    articles: Iterable[StoredArticle], spec: SubscriptionSpec
) -> list[StoredArticle]:
    """The articles ``spec`` asks for, in digest order (section by section).

    ``spec.topics`` keeps articles having any of those topics (by code, or by label ignoring
    case); ``spec.actors`` keeps articles mentioning any of those actors (ignoring case);
    with both, both must hold. Articles marked as duplicates of another article in the same
    batch are dropped so a story is listed once.
    """
    wanted_topics = {t.casefold() for t in spec.topics}
    wanted_actors = {a.casefold() for a in spec.actors}
    batch = list(articles)
    ids = {a.id for a in batch}
    kept = [
        a
        for a in batch
        if (a.duplicate_of is None or a.duplicate_of not in ids)
        and (not wanted_topics or _has_topic(a, wanted_topics))
        and (not wanted_actors or any(x.name.casefold() in wanted_actors for x in a.actors))
    ]
    return [article for _, group in group_sections(kept) for article in group]


def group_sections(
    articles: Iterable[StoredArticle],
) -> list[tuple[str, list[StoredArticle]]]:
    """Group by top topic label; biggest section first, ``Other`` always last.

    Inside a section, articles carried by more feeds come first, then the most recent.
    """
    groups: dict[str, list[StoredArticle]] = {}
    for article in articles:
        title = article.topics[0].label if article.topics else OTHER_SECTION
        groups.setdefault(title, []).append(article)
    for group in groups.values():
        group.sort(key=lambda a: (-len(a.feeds), -_when(a).timestamp(), a.id))
    return sorted(
        groups.items(),
        key=lambda item: (item[0] == OTHER_SECTION, -len(item[1]), item[0].casefold()),
    )


def actor_overview(articles: Iterable[StoredArticle]) -> list[ActorTally]:
    """Per-actor mention totals and per-article sentiment counts, most mentioned first.

    Actors are merged by name ignoring case.
    """
    spellings: dict[str, Counter[str]] = {}
    mentions: Counter[str] = Counter()
    sentiments: dict[str, Counter[str]] = {}
    for article in articles:
        for actor in article.actors:
            if not actor.watched:  # discovered names are listed by new_names()
                continue
            key = actor.name.casefold()
            spellings.setdefault(key, Counter())[actor.name] += 1
            # An analyser that does not count mentions still found the actor at least once.
            mentions[key] += max(actor.mentions, 1)
            sentiments.setdefault(key, Counter())[actor.sentiment] += 1
    # The most common spelling wins; ties go to the code-point-smallest, which prefers
    # capitalised forms and does not depend on the order the articles came in.
    names = {
        key: min(counts, key=lambda n: (-counts[n], n)) for key, counts in spellings.items()
    }
    tallies = [
        ActorTally(
            name=names[key],
            mentions=mentions[key],
            negative=sentiments[key]["negative"],
            neutral=sentiments[key]["neutral"],
            positive=sentiments[key]["positive"],
        )
        for key in names
    ]
    tallies.sort(key=lambda t: (-t.mentions, t.name.casefold()))
    return tallies


def new_names(articles: Iterable[StoredArticle]) -> list[NewName]:
    """Discovered (unwatched) actors by the number of articles naming them, most first.

    Names merge ignoring case and are spelt as in :func:`actor_overview`; at most
    :data:`NEW_NAMES_LIMIT`.
    """
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    types: dict[str, str] = {}
    for article in articles:
        found = {a.name.casefold(): a for a in article.actors if not a.watched}
        for key, actor in found.items():
            counts[key] += 1
            spellings.setdefault(key, Counter())[actor.name] += 1
            types.setdefault(key, actor.type)
    ranked = sorted(counts, key=lambda k: (-counts[k], k))[:NEW_NAMES_LIMIT]
    return [
        NewName(min(spellings[k], key=lambda n: (-spellings[k][n], n)), types[k], counts[k])
        for k in ranked
    ]


# --------------------------------------------------------------------------- rendering


def digest_subject(
    subscription: Subscription, count: int, overview: Sequence[ActorTally]
) -> str:
    """E.g. ``Daily digest 'Ukraine desk': 14 articles — Russia mostly negative``."""
    label = _SCHEDULE_LABEL.get(subscription.spec.schedule, "Digest")
    head = f"{label} '{_one_line(subscription.name)}'"
    if count == 0:
        return f"{head}: no new articles"
    subject = f"{head}: {count} article{'s' if count != 1 else ''}"
    if overview:
        top = overview[0]
        mood = f"mostly {top.dominant}" if top.dominant else "mixed"
        subject += f" — {_one_line(top.name)} {mood}"
    return subject


def build_digest(
    *,
    subscription: Subscription,
    period: Period,
    articles: Sequence[StoredArticle],
    sender: str,
    message_id: str,
    generated_at: datetime,
) -> DigestEmail:
    """Render the digest of ``articles`` for ``subscription`` over ``period``."""
    tz = zone(subscription.spec.tz)
    selected = select_articles(articles, subscription.spec)
    sections = [
        DigestSection(_capitalised(title), tuple(_entry(a, tz) for a in group))
        for title, group in group_sections(selected)
    ]
    overview = actor_overview(selected)
    subject = digest_subject(subscription, len(selected), overview)
    context = {
        "subject": subject,
        "subscription_name": subscription.name,
        "count": len(selected),
        "period": f"{_format_time(period.start, tz)} – {_format_time(period.end, tz)}",
        "generated": _format_time(generated_at, tz),
        "sections": sections,
        "overview": overview,
        "new_names": new_names(selected),
    }
    env = _environment()
    return DigestEmail(
        subject=subject,
        sender=sender,
        recipients=subscription.spec.emails,
        html=env.get_template("digest.html.j2").render(context),
        text=env.get_template("digest.txt.j2").render(context),
        message_id=message_id,
        headers={
            # RFC 3834: tells autoresponders not to answer a machine-generated message.
            "Auto-Submitted": "auto-generated",
            "X-Newsmon-Subscription": str(subscription.id),
            "X-Newsmon-Period": period.key,
        },
    )


def message_id_for(subscription_id: int, period_key: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt at one digest.

    Deterministic so a retried send is recognisable as the same message by mail clients and
    by the digest-run bookkeeping.
    """
    if not _DOMAIN.fullmatch(domain) or ".." in domain:
        raise InvalidInput(f"not a usable Message-ID domain: {domain!r}")
    digest = hashlib.sha1(period_key.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"<digest.{subscription_id}.{digest[:16]}@{domain.lower()}>"


def truncate_words(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Collapse whitespace and cut at a word boundary at most ``limit`` characters in."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    # A single very long "word" (a URL, say) is cut mid-word rather than dropped entirely.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


# --------------------------------------------------------------------------- internals


def _has_topic(article: StoredArticle, wanted: set[str]) -> bool:
    return any(t.code.casefold() in wanted or t.label.casefold() in wanted for t in article.topics)


def _when(article: StoredArticle) -> datetime:
    return article.published or article.first_seen


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _capitalised(label: str) -> str:
    # Topic vocabularies often use lower-case labels; a heading reads better capitalised.
    return label[:1].upper() + label[1:]


def _safe_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def _outlet(feed_title: str | None, feed_url: str) -> str:
    return _one_line(feed_title) if feed_title else (urlsplit(feed_url).hostname or feed_url)


def _entry(article: StoredArticle, tz: ZoneInfo) -> DigestEntry:
    return DigestEntry(
        title=_one_line(article.title) or "(untitled)",
        url=_safe_url(article.url),
        outlets=tuple(dict.fromkeys(_outlet(f.title, f.url) for f in article.feeds)),
        published=_format_time(_when(article), tz),
        summary=truncate_words(article.summary),
        topics=tuple(_capitalised(t.label) for t in article.topics),
        actors=tuple(
            ActorChip(
                name=a.name,
                sentiment=a.sentiment,
                evidence=truncate_words(a.evidence[0], EVIDENCE_LIMIT) if a.evidence else None,
                watched=a.watched,
            )
            for a in [
                *(a for a in article.actors if a.watched),
                *[a for a in article.actors if not a.watched][:NEW_CHIPS_PER_ARTICLE],
            ]
        ),
    )


def _format_time(moment: datetime, tz: ZoneInfo) -> str:
    if moment.tzinfo is None:
        # Storage promises aware UTC; treat a stray naive value as UTC rather than local.
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    return (
        f"{local.day} {_MONTHS[local.month - 1]} {local.year} "
        f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"
    )


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("feeds", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env
