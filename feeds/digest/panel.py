"""The actor panel and the daily series behind the trend charts (pure).

Input is a flat list of :class:`feeds.models.ActorMention` (one per actor per article) for
the watched actors, covering the digest period, the period before it and the 30 days of
the chart. The panel counts *articles* that mention the actor in the period, whatever the
subscription's other filters: it describes the actor's coverage, not the digest's.

* shares: negative / neutral / positive as fractions of those articles;
* change: mentions against the previous period of the same length, as a ratio
  (``None`` when the previous period had none), and the negative share's change in
  percentage points;
* evidence: the first evidence sentence of the most negative and of the most positive
  mention in the period (a side is empty when no mention leaned that way).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.models import ActorMention, Period, Sentiment

__all__ = ["TREND_DAYS", "ActorPanel", "DailyPoint", "actor_panel", "daily_series"]

TREND_DAYS = 30


@dataclass(frozen=True, slots=True)
class DailyPoint:
    day: date
    volume: int  # articles mentioning the actor that day (local day)
    net: float | None  # mean sentiment score (-1..1); None on a day without mentions
    negative_share: float | None


@dataclass(frozen=True, slots=True)
class ActorPanel:
    name: str
    mentions: int
    negative: float
    neutral: float
    positive: float
    previous_mentions: int
    previous_negative: float | None
    worst: str | None
    best: str | None

    @property
    def change(self) -> float | None:
        """Mentions now / mentions in the previous period - 1 (None without a baseline)."""
        if self.previous_mentions == 0:
            return None
        return self.mentions / self.previous_mentions - 1.0

    @property
    def negative_change_points(self) -> float | None:
        if self.previous_negative is None or self.mentions == 0:
            return None
        return (self.negative - self.previous_negative) * 100.0

    @property
    def dominant(self) -> Sentiment | None:
        """The sentiment of at least half of the mentions, else None (mixed)."""
        if self.mentions == 0:
            return None
        shares: list[tuple[float, Sentiment]] = [
            (self.negative, "negative"),
            (self.neutral, "neutral"),
            (self.positive, "positive"),
        ]
        best_share, best = max(shares)
        unique = sum(1 for share, _ in shares if share == best_share) == 1
        return best if unique and best_share >= 0.5 else None


def actor_panel(name: str, mentions: Sequence[ActorMention], period: Period) -> ActorPanel:
    """The panel row for ``name`` (matched ignoring case) over ``period``."""
    mine = [m for m in mentions if m.name.casefold() == name.casefold()]
    length = period.end - period.start
    current = _per_article(m for m in mine if period.start <= m.first_seen < period.end)
    previous = _per_article(m for m in mine if period.start - length <= m.first_seen < period.start)
    shares = _shares(current)
    prev_shares = _shares(previous) if previous else None
    leaning_neg = [m for m in current if m.evidence and m.score < 0]
    leaning_pos = [m for m in current if m.evidence and m.score > 0]
    worst = min(leaning_neg, key=lambda m: (m.score, m.article_id), default=None)
    best = max(leaning_pos, key=lambda m: (m.score, -m.article_id), default=None)
    return ActorPanel(
        name=name,
        mentions=len(current),
        negative=shares[0],
        neutral=shares[1],
        positive=shares[2],
        previous_mentions=len(previous),
        previous_negative=prev_shares[0] if prev_shares else None,
        worst=worst.evidence[0] if worst else None,
        best=best.evidence[0] if best else None,
    )


def daily_series(
    name: str,
    mentions: Sequence[ActorMention],
    end: datetime,
    tz: ZoneInfo,
    days: int = TREND_DAYS,
) -> list[DailyPoint]:
    """``days`` local days ending with the day of ``end`` (exclusive instant), oldest first."""
    last_day = (end - timedelta(microseconds=1)).astimezone(tz).date()
    first_day = last_day - timedelta(days=days - 1)
    buckets: dict[date, list[ActorMention]] = {}
    for m in _per_article(x for x in mentions if x.name.casefold() == name.casefold()):
        day = m.first_seen.astimezone(tz).date()
        if first_day <= day <= last_day and m.first_seen < end:
            buckets.setdefault(day, []).append(m)
    points = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        items = buckets.get(day, [])
        if items:
            net = sum(m.score for m in items) / len(items)
            neg = sum(1 for m in items if m.sentiment == "negative") / len(items)
            points.append(DailyPoint(day, len(items), round(net, 4), round(neg, 4)))
        else:
            points.append(DailyPoint(day, 0, None, None))
    return points


def _per_article(items: Iterable[ActorMention]) -> list[ActorMention]:
    # One mention per (article, actor): a repository may return spelling variants twice.
    seen: dict[int, ActorMention] = {}
    for m in items:
        seen.setdefault(m.article_id, m)
    return list(seen.values())


def _shares(items: Sequence[ActorMention]) -> tuple[float, float, float]:
    if not items:
        return (0.0, 0.0, 0.0)
    n = len(items)
    return (
        sum(1 for m in items if m.sentiment == "negative") / n,
        sum(1 for m in items if m.sentiment == "neutral") / n,
        sum(1 for m in items if m.sentiment == "positive") / n,
    )
