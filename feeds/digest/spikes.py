"""Spike detection: an actor's coverage departing from its own baseline (pure).

Principles: an alert must be rare and deserved (a reader who gets one per article stops
reading them), so a spike needs both a large *effect* and a small *chance* of arising from
the actor's usual rate; and a spike is one event however long it lasts.

Method, per actor, evaluated at every whole hour ``t`` of the last ``lookback_hours``:

* **window** ``[t - W, t)`` with W = ``window_hours`` (6 h): ``k`` articles, ``m`` negative.
* **baseline** the ``baseline_days`` (14 days) before the window: its hourly rate times W
  gives the expected count ``mu`` (floored at ``min_expected``, so an actor never seen
  before does not spike on its first article); its negative share ``p0`` is smoothed as
  ``(negatives + 1) / (articles + 2)``.
* **volume spike** when ``k >= min_volume`` (5), ``k >= volume_ratio * mu`` (3x) and the Poisson
  tail ``P(X >= k | mu) <= alpha`` (0.001).
* **negative-share spike** when ``k >= min_articles`` (8), ``m / k - p0 >= negative_points``
  (0.3)
  and the binomial tail ``P(X >= m | k, p0) <= alpha``.

Consecutive anomalous hours form a run; runs less than W hours apart are one spike. A spike
is reported while its last anomalous hour is within the last W hours, and it is named by
its first anomalous hour (:attr:`Spike.key`), so re-evaluating every few minutes yields the
same key and the outbox's unique (subscription, key) row turns that into one alert. A spike
longer than the lookback (48 h) is reported again with a new start: by then it is the new
normal and worth a second look.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from feeds.models import ActorMention

__all__ = ["Spike", "SpikeSettings", "detect_spikes", "binomial_tail", "poisson_tail"]

SpikeKind = Literal["volume", "negative"]
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SpikeSettings:
    window_hours: int = 6
    baseline_days: int = 14
    lookback_hours: int = 48
    min_volume: int = 5
    volume_ratio: float = 3.0
    min_expected: float = 0.5
    min_articles: int = 8
    negative_points: float = 0.3
    alpha: float = 1e-3

    @property
    def history(self) -> timedelta:
        """How far back the mentions must reach for :func:`detect_spikes`."""
        return timedelta(hours=self.lookback_hours + self.window_hours + 24 * self.baseline_days)


@dataclass(frozen=True, slots=True)
class Spike:
    actor: str
    kind: SpikeKind
    start: datetime  # the first anomalous evaluation hour (UTC)
    last: datetime  # the latest anomalous evaluation hour
    observed: int  # articles in the window at the strongest hour
    expected: float  # the baseline's expectation for that window
    negative_share: float
    baseline_negative_share: float
    window_hours: int

    @property
    def key(self) -> str:
        """Stable name of this spike, at most 64 characters (an outbox period key)."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.actor.casefold()).strip("-")[:20] or "actor"
        tag = hashlib.sha1(self.actor.casefold().encode(), usedforsecurity=False).hexdigest()[:6]
        return f"spike:{self.kind}:{slug}-{tag}:{self.start:%Y%m%dT%H}"


def detect_spikes(
    actor: str,
    mentions: Sequence[ActorMention],
    now: datetime,
    settings: SpikeSettings | None = None,
) -> list[Spike]:
    """The spikes of ``actor`` that are current at ``now`` (at most one per kind)."""
    cfg = settings or SpikeSettings()
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    w = cfg.window_hours
    base_hours = 24 * cfg.baseline_days
    hours = cfg.lookback_hours + w + base_hours
    origin = end - hours * _HOUR
    counts, negatives = [0] * hours, [0] * hours
    seen: set[int] = set()
    for m in mentions:
        if m.name.casefold() != actor.casefold() or m.article_id in seen:
            continue
        index = int((m.first_seen - origin) // _HOUR)
        if 0 <= index < hours:
            seen.add(m.article_id)
            counts[index] += 1
            negatives[index] += m.sentiment == "negative"
    cum_c, cum_n = _prefix(counts), _prefix(negatives)

    flags: dict[SpikeKind, list[tuple[int, int, float, float, float]]] = {
        "volume": [],
        "negative": [],
    }
    # Evaluate at t = end - j hours; the window is the w hours before t.
    for j in range(cfg.lookback_hours, -1, -1):
        t = hours - j
        k = cum_c[t] - cum_c[t - w]
        m_neg = cum_n[t] - cum_n[t - w]
        b0 = t - w - base_hours
        base_total = cum_c[t - w] - cum_c[b0]
        base_neg = cum_n[t - w] - cum_n[b0]
        mu = max(cfg.min_expected, base_total / base_hours * w)
        p0 = (base_neg + 1) / (base_total + 2)
        share = m_neg / k if k else 0.0
        if k >= cfg.min_volume and k >= cfg.volume_ratio * mu and poisson_tail(k, mu) <= cfg.alpha:
            flags["volume"].append((t, k, mu, share, p0))
        if (
            k >= cfg.min_articles
            and share - p0 >= cfg.negative_points
            and binomial_tail(m_neg, k, p0) <= cfg.alpha
        ):
            flags["negative"].append((t, k, mu, share, p0))

    spikes = []
    for kind, hits in flags.items():
        if not hits:
            continue
        # Walk back from the latest anomalous hour while the gaps stay under w hours.
        run = [hits[-1]]
        for hit in reversed(hits[:-1]):
            if run[0][0] - hit[0] >= w:
                break
            run.insert(0, hit)
        if hours - run[-1][0] >= w:  # the spike ended more than w hours ago
            continue
        if kind == "volume":
            strongest = max(run, key=lambda h: (h[1] / h[2], h[0]))
        else:
            strongest = max(run, key=lambda h: (h[3] - h[4], h[0]))
        spikes.append(
            Spike(
                actor=actor,
                kind=kind,
                start=origin + run[0][0] * _HOUR,
                last=origin + run[-1][0] * _HOUR,
                observed=strongest[1],
                expected=round(strongest[2], 3),
                negative_share=round(strongest[3], 4),
                baseline_negative_share=round(strongest[4], 4),
                window_hours=w,
            )
        )
    return spikes


def poisson_tail(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    # 1 - P(X <= k - 1), summed in log space for stability.
    log_terms = [-mu + i * math.log(mu) - math.lgamma(i + 1) for i in range(k)]
    top = max(log_terms)
    below = math.exp(top) * sum(math.exp(t - top) for t in log_terms)
    return max(0.0, 1.0 - below)


def binomial_tail(m: int, n: int, p: float) -> float:
    """P(X >= m) for X ~ Binomial(n, p)."""
    if m <= 0:
        return 1.0
    if m > n:
        return 0.0
    total = 0.0
    for i in range(m, n + 1):
        total += math.exp(
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * math.log(p)
            + (n - i) * math.log1p(-p)
        )
    return min(1.0, total)


def _prefix(values: Sequence[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out
