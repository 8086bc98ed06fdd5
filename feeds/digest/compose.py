"""Digest composition: pure functions from stored articles to what a digest shows.

Rendering the result into an email is :mod:`feeds.digest.render`.

The flow is *compose, then render*::

    compose_digest(subscription, period, articles, mentions)  -> DigestContent
        entries (feeds.digest.select): filter, one entry per story, importance, sections
        actor panel (feeds.digest.panel), 30-day trend charts (feeds.digest.chart) per actor
        subject
    render_email(content, recipient, ...)                       -> DigestEmail
        the HTML body (Jinja) cleaned by an allow-list (feeds.digest.sanitize), the text part,
        the unsubscribe link and headers of that one recipient, the inline charts

Nothing here talks to a database, the network or the clock: a digest is reproducible from
its inputs, which is what the golden-file tests pin down.

Design decisions:

* Templates receive small, already-formatted view objects (:class:`EntryView`,
  :class:`PanelView` ...) rather than raw articles: the logic stays testable in Python and
  the templates stay declarative.
* Everything that came from a feed is untrusted: it is reduced to plain text by nh3 before
  it reaches a template, links must be absolute http(s), and the rendered body passes an
  allow-list sanitiser (see :mod:`feeds.digest.sanitize`). Styles are inline; there are no
  scripts and no remote resources - the charts travel inside the message (``cid:``).
* Composition is separated from rendering because each recipient gets their own message
  (their own unsubscribe token) while the entries and charts are computed once.
* Times are shown in the subscription's own time zone; month names are spelled out here
  so the output does not depend on the process locale.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.digest.chart import render_trend_png
from feeds.digest.panel import TREND_DAYS, ActorPanel, actor_panel, daily_series
from feeds.digest.periods import zone
from feeds.digest.sanitize import plain_text, safe_link
from feeds.digest.select import (
    OTHER_SECTION,
    DigestEntry,
    build_entries,
    outlet_name,
    sectioned,
)
from feeds.models import (
    ActorMention,
    InlineImage,
    Period,
    Sentiment,
    StoredArticle,
    Subscription,
    SubscriptionSpec,
)

__all__ = [
    "MAX_ENTRIES",
    "OTHER_SECTION",
    "ActorTally",
    "DigestContent",
    "EntryView",
    "PanelView",
    "SpikeNote",
    "actor_overview",
    "compose_digest",
    "mentions_from_articles",
    "mentions_window",
    "new_names",
    "truncate_words",
    "watched_actors",
]

SUMMARY_LIMIT = 300
EVIDENCE_LIMIT = 240
#: A digest lists at most this many entries; the rest are counted, not shown.
MAX_ENTRIES = 40
MAX_PANEL_ACTORS = 5
MAX_ALSO_LINKS = 6

_LABEL = {"daily": "Daily", "weekly": "Weekly", "immediate": "Alert"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# --------------------------------------------------------------------------- view objects


@dataclass(frozen=True, slots=True)
class ActorChip:
    name: str
    sentiment: Sentiment
    evidence: str | None
    watched: bool = True  # False: a name found by discovery, shown as new


@dataclass(frozen=True, slots=True)
class AlsoLink:
    outlet: str
    url: str | None


@dataclass(frozen=True, slots=True)
class EntryView:
    title: str
    url: str | None  # None when the article had no safe (http/https) link
    outlet: str
    published: str
    summary: str
    also: tuple[AlsoLink, ...]  # other outlets covering the entry (shown: a few)
    also_count: int  # how many other outlets in all
    topics: tuple[str, ...]
    actors: tuple[ActorChip, ...]


@dataclass(frozen=True, slots=True)
class SectionView:
    title: str
    entries: tuple[EntryView, ...]


@dataclass(frozen=True, slots=True)
class PanelView:
    name: str
    mentions: int
    negative: int  # percent, rounded so the three add up to 100
    neutral: int
    positive: int
    change: str  # e.g. "+40% vs previous period"
    negative_change: str  # e.g. "negative share +12 pts"
    mood: str  # "mostly negative", "mixed", "no coverage"
    worst: str | None
    best: str | None
    chart_cid: str | None
    chart_alt: str


@dataclass(frozen=True, slots=True)
class SpikeNote:
    """Why a spike alert was sent (shown above the entries)."""

    actor: str
    headline: str  # e.g. "Coverage of Russia: 14 articles in 6 h (usually about 1.2)"


@dataclass(frozen=True, slots=True)
class DigestContent:
    """Everything in a digest except what depends on the recipient."""

    subscription: Subscription
    period: Period
    subject: str
    period_text: str
    generated: str
    sections: tuple[SectionView, ...]
    entry_count: int  # readers see them counted as stories
    shown_count: int
    article_count: int
    panels: tuple[PanelView, ...]
    images: tuple[InlineImage, ...]
    spike: SpikeNote | None = None
    new_names: tuple[NewName, ...] = ()  # discovered actors, not on the watchlist


@dataclass(frozen=True, slots=True)
class NewName:
    """An actor not on the watchlist that discovery found in the digest's articles."""

    name: str
    type: str
    articles: int


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


#: Discovered actors shown per article, and in a digest's list of new names.
NEW_CHIPS_PER_ARTICLE = 3
NEW_NAMES_LIMIT = 10
NEW_NAMES_LIMIT = 10

# --------------------------------------------------------------------------- selection


def actor_overview(articles: Iterable[StoredArticle]) -> list[ActorTally]:
    """Per-actor mention totals and per-article sentiment counts, most mentioned first."""
    spellings: dict[str, Counter[str]] = {}
    mentions: Counter[str] = Counter()
    sentiments: dict[str, Counter[str]] = {}
    for article in articles:
        for actor in article.actors:
            if not actor.watched:  # discovered names are listed by new_names()
                continue
            key = actor.name.casefold()
            spellings.setdefault(key, Counter())[actor.name] += 1
            mentions[key] += max(actor.mentions, 1)
            sentiments.setdefault(key, Counter())[actor.sentiment] += 1
    names = {key: min(counts, key=lambda n: (-counts[n], n)) for key, counts in spellings.items()}
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


def watched_actors(spec: SubscriptionSpec, entries: Sequence[DigestEntry] = ()) -> list[str]:
    """The actors the panel and charts are about: the subscription's own, else the three
    actors its entries mention most."""
    if spec.actors:
        return list(dict.fromkeys(spec.actors))[:MAX_PANEL_ACTORS]
    tallies = actor_overview(e.lead for e in entries)
    return [t.name for t in tallies[:3]]


# --------------------------------------------------------------------------- composing


def compose_digest(
    *,
    subscription: Subscription,
    period: Period,
    articles: Sequence[StoredArticle],
    generated_at: datetime,
    mentions: Sequence[ActorMention] | None = None,
    charts: bool = True,
    spike: SpikeNote | None = None,
    panel_actors: Sequence[str] | None = None,
    image_domain: str = "newsmon.localhost",
) -> DigestContent:
    """Select, group and summarise; draw the charts. ``mentions`` must cover the period,
    the previous period and the 30 days before ``period.end`` for the watched actors;
    without them, the actors found in ``articles`` are used."""
    spec = subscription.spec
    if mentions is None:
        mentions = mentions_from_articles(articles)
    tz = zone(spec.tz)
    entries = build_entries(articles, spec, period)
    shown = entries[:MAX_ENTRIES]
    sections = []
    order: dict[str, list[EntryView]] = {}
    for entry in _by_section(shown):
        order.setdefault(entry.section, []).append(_entry_view(entry, spec, tz))
    sections = [
        SectionView(plain_text(title) or OTHER_SECTION, tuple(views))
        for title, views in order.items()
    ]

    if panel_actors is not None:
        names = list(panel_actors)[:MAX_PANEL_ACTORS]
    else:
        names = [spike.actor] if spike else watched_actors(spec, entries)
    panels: list[PanelView] = []
    images: list[InlineImage] = []
    for index, name in enumerate(names, 1):
        panel = actor_panel(name, mentions, period)
        cid = None
        if charts:
            png = render_trend_png(daily_series(name, mentions, period.end, tz))
            cid = _image_cid(subscription.id, period.key, index, image_domain)
            images.append(InlineImage(cid, png, "png", f"trend-{index}.png"))
        panels.append(_panel_view(panel, cid))

    article_count = sum(len(e.members) for e in entries)
    subject = _subject(subscription, len(entries), panels, spike)
    return DigestContent(
        subscription=subscription,
        period=period,
        subject=subject,
        period_text=f"{_format_time(period.start, tz)} – {_format_time(period.end, tz)}",
        generated=_format_time(generated_at, tz),
        sections=tuple(sections),
        entry_count=len(entries),
        shown_count=len(shown),
        article_count=article_count,
        panels=tuple(panels),
        images=tuple(images),
        spike=spike,
        new_names=tuple(new_names(a for e in shown for a in e.members)),
    )


def truncate_words(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Collapse whitespace and cut at a word boundary at most ``limit`` characters in."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


# --------------------------------------------------------------------------- internals


def _by_section(entries: Sequence[DigestEntry]) -> list[DigestEntry]:
    return [entry for _, group in sectioned(entries) for entry in group]


def _count_text(count: int) -> str:
    # The reader's word for a digest entry is "story".
    return f"{count} stor{'y' if count == 1 else 'ies'}" if count else "no new stories"


def _subject(
    subscription: Subscription, count: int, panels: Sequence[PanelView], spike: SpikeNote | None
) -> str:
    name = _one_line(subscription.name)
    if spike is not None:
        return f"Spike: {_one_line(spike.headline)} · {name}"
    label = _LABEL.get(subscription.spec.schedule, "Digest")
    head = f"{label}: {_count_text(count)}"
    covered = [p for p in panels if p.mentions]
    if count and covered:
        top = covered[0]
        head += f" — {_one_line(top.name)} {top.mood}"
    return f"{head} · {name}"


def _entry_view(entry: DigestEntry, spec: SubscriptionSpec, tz: ZoneInfo) -> EntryView:
    lead = entry.lead
    lead_outlet = outlet_name(lead.feeds[0]) if lead.feeds else "unknown outlet"
    also: dict[str, AlsoLink] = {}
    for member in entry.members:
        for feed in member.feeds:
            name = outlet_name(feed)
            if name == lead_outlet or name in also:
                continue
            url = safe_link(member.url) if member is not lead else None
            also[name] = AlsoLink(plain_text(name), url)
    watched = {a.casefold() for a in spec.actors}
    actors = sorted(
        lead.actors,
        key=lambda a: (a.name.casefold() not in watched, -a.mentions, a.name.casefold()),
    )
    return EntryView(
        title=plain_text(lead.title) or "(untitled)",
        url=safe_link(lead.url),
        outlet=plain_text(lead_outlet),
        published=_format_time(_when(lead), tz),
        summary=truncate_words(plain_text(lead.summary)),
        also=tuple(list(also.values())[:MAX_ALSO_LINKS]),
        also_count=len(also),
        topics=tuple(_capitalised(plain_text(t.label)) for t in lead.topics),
        actors=tuple(
            ActorChip(
                name=plain_text(a.name),
                sentiment=a.sentiment,
                evidence=truncate_words(plain_text(a.evidence[0]), EVIDENCE_LIMIT)
                if a.evidence
                else None,
                watched=a.watched,
            )
            # Watched actors first; a few discovered names, marked as new.
            for a in [
                *[a for a in actors if a.watched][:4],
                *[a for a in actors if not a.watched][:NEW_CHIPS_PER_ARTICLE],
            ]
        ),
    )


def _panel_view(panel: ActorPanel, cid: str | None) -> PanelView:
    neg, neu, pos = _percentages(panel.negative, panel.neutral, panel.positive)
    change = panel.change
    if panel.mentions == 0 and panel.previous_mentions == 0:
        change_text = "no coverage in either period"
    elif change is None:
        change_text = "new this period (none in the previous one)"
    elif abs(change) < 0.005:
        change_text = "same as the previous period"
    else:
        change_text = f"{change * 100:+.0f}% vs previous period ({panel.previous_mentions})"
    points = panel.negative_change_points
    neg_text = "" if points is None else f"negative share {points:+.0f} pts"
    if panel.mentions == 0:
        mood = "no coverage"
    else:
        mood = f"mostly {panel.dominant}" if panel.dominant else "mixed"
    return PanelView(
        name=plain_text(panel.name),
        mentions=panel.mentions,
        negative=neg,
        neutral=neu,
        positive=pos,
        change=change_text,
        negative_change=neg_text,
        mood=mood,
        worst=truncate_words(plain_text(panel.worst), EVIDENCE_LIMIT) if panel.worst else None,
        best=truncate_words(plain_text(panel.best), EVIDENCE_LIMIT) if panel.best else None,
        chart_cid=cid,
        chart_alt=f"{plain_text(panel.name)}: daily articles and mean sentiment, "
        f"last {TREND_DAYS} days",
    )


def _percentages(*shares: float) -> tuple[int, int, int]:
    """Whole percentages that add up to 100 (largest remainder), or zeros."""
    if not any(shares):
        return (0, 0, 0)
    raw = [s * 100 for s in shares]
    floors = [int(r) for r in raw]
    missing = 100 - sum(floors)
    by_remainder = sorted(range(3), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in by_remainder[:missing]:
        floors[i] += 1
    return (floors[0], floors[1], floors[2])


def _image_cid(subscription_id: int, period_key: str, index: int, domain: str) -> str:
    tag = hashlib.sha1(period_key.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]
    return f"trend{index}.{subscription_id}.{tag}@{domain.lower()}"


def _when(article: StoredArticle) -> datetime:
    return article.published or article.first_seen


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def _format_time(moment: datetime, tz: ZoneInfo) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    return (
        f"{local.day} {_MONTHS[local.month - 1]} {local.year} "
        f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"
    )


def mentions_from_articles(articles: Iterable[StoredArticle]) -> list[ActorMention]:
    """Actor mentions taken from the articles themselves (when no history is at hand)."""
    return [
        ActorMention(a.id, a.story_id, x.name, x.sentiment, x.score, a.first_seen, x.evidence)
        for a in articles
        if a.duplicate_of is None
        for x in a.actors
    ]


def mentions_window(period: Period) -> tuple[datetime, datetime]:
    """The span of mentions :func:`compose_digest` needs for ``period``."""
    length = period.end - period.start
    return (min(period.start - length, period.end - timedelta(days=TREND_DAYS + 1)), period.end)
