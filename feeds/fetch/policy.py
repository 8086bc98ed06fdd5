"""When to poll a feed next, and what its health is: a decider, data in and data out.

It does not interact with anything. The pipeline hands it the feed's scheduling state
(:class:`feeds.models.FeedSource`), what one poll found (:class:`PollObservation`), the
time and the policy, and stores the :class:`PollDecision` it returns. Every rule lives
here so that it can be read, and tested, in one place. The rules, in the order applied:

**Success** (200 or 304).

1. *Adaptive interval.* The feed's current interval (the policy default for a feed never
   polled) shrinks when the poll found entries not seen before, by the share of new
   entries — all new halves it, a quarter new divides it by 1.25 — and grows by 25 % when
   nothing was new (304, an identical body, or only known entries). It is clamped to
   ``[min_interval, max_interval]``. Busy feeds converge on the minimum, quiet ones on the
   maximum, in a handful of polls.
2. *Server hints* are lower bounds on the wait, never on the stored interval: a
   ``Cache-Control: max-age`` (or ``Expires``) and the RSS ``<ttl>`` say "do not ask again
   before"; each is capped at ``hint_cap`` so a feed asking for a year is still polled daily.
3. *RSS skipHours* (UTC hours): a next fetch falling in a skipped hour moves to the start of
   the next hour that is not skipped (ignored when all 24 are listed).
4. *Failure score* halves (below 0.25 it is 0); health is ``flaky`` while it is 0.5 or
   more — a feed that failed recently, or keeps alternating — else ``ok``.

**Failure.**

0. *Refused by our own address policy* (a private address while private networks are not
   allowed) is not the feed's fault: health, failure score and interval stay as they were,
   and it is tried again at its usual interval, not backed off.
1. *410 Gone* marks the feed ``gone``: it is no longer polled until someone resumes it.
   That is never silent: ``feeds list``/``show`` and ``newsmon status`` show it.
2. Any other failure adds its weight to the failure score: ``hard_weight`` (3) for errors
   that will not fix themselves soon (401/403 and other 4xx except 404/408/429, bodies
   over the cap, entity bombs, redirect loops, bad URLs), ``soft_weight``
   (1) for 404, 408, 429, 5xx, timeouts, DNS, TLS, connection and parse errors.
3. *Linear backoff to a cap:* wait ``retry_interval × consecutive failures × weight``, at
   most ``failure_cap``. A feed is never disabled: at the cap it keeps being retried, once
   per ``failure_cap``.
4. *Retry-After* (429, 503 …) is honoured as a lower bound, capped at ``retry_after_cap``;
   a 429 also gets up to ``jitter`` (25 %) extra, so the feeds a host refused together do
   not come back together.
5. The interval and the redirect candidate stay as they were.

**Redirects.** A feed whose fetch reached a different URL through permanent redirects only
(301/308) has that URL as its *candidate*; every consecutive successful poll that ends at
the same candidate counts, and at ``adopt_redirect_after`` (3) the candidate becomes the
feed's URL. A temporary redirect, a direct answer or a different target resets the count;
failures leave it alone. One misconfigured deploy therefore cannot rewrite a feed list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from feeds.errors import (
    BlockedAddress,
    BodyTooLarge,
    FetchError,
    HTTPStatusError,
    NewsmonError,
    RedirectLoop,
    UnknownHost,
    UnsafeDocument,
)
from feeds.models import FeedHealth, FeedSource

__all__ = [
    "FailureKind",
    "PollDecision",
    "PollObservation",
    "PollPolicy",
    "classify_failure",
    "decide",
    "is_lasting",
]

FailureKind = Literal["soft", "hard", "gone", "refused"]
PollKind = Literal["ok", "not_modified", "failed"]

_SOFT_STATUSES = frozenset({404, 408, 429})


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The knobs; :mod:`worker.settings` fills them from ``NEWSMON_*`` settings."""

    default_interval: timedelta = timedelta(minutes=30)
    min_interval: timedelta = timedelta(minutes=10)
    max_interval: timedelta = timedelta(hours=24)
    retry_interval: timedelta = timedelta(minutes=30)  # the step of the linear backoff
    failure_cap: timedelta = timedelta(hours=24)
    retry_after_cap: timedelta = timedelta(hours=24)
    hint_cap: timedelta = timedelta(hours=24)  # max-age, Expires, <ttl>
    jitter: float = 0.25  # a 429 waits up to this fraction longer
    adopt_redirect_after: int = 3
    soft_weight: float = 1.0
    hard_weight: float = 3.0

    def __post_init__(self) -> None:
        if not timedelta(0) < self.min_interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        if self.adopt_redirect_after < 1:
            raise ValueError("adopt_redirect_after must be at least 1")


@dataclass(frozen=True, slots=True)
class PollObservation:
    """What one poll found (from the pipeline)."""

    kind: PollKind
    http_status: int | None = None
    failure: FailureKind | None = None  # set when kind == "failed"
    entries: int = 0
    new_entries: int = 0  # entries this feed had not carried before
    retry_after: float | None = None  # seconds
    max_age: float | None = None  # seconds
    ttl_minutes: int | None = None
    skip_hours: tuple[int, ...] = ()
    final_url: str | None = None
    permanent_redirect: bool = False


@dataclass(frozen=True, slots=True)
class PollDecision:
    """The feed's next scheduling state (to storage, through ``FetchOutcome``)."""

    next_fetch_at: datetime
    interval_seconds: int
    failure_score: float
    health: FeedHealth | None  # None: as it was (a refusal by our own policy)
    redirect_url: str | None
    redirect_count: int
    new_url: str | None = None
    reason: str = ""


def classify_failure(error: NewsmonError) -> FailureKind:
    """How much a failure counts: see the module docstring."""
    if isinstance(error, BlockedAddress):
        return "refused"
    if isinstance(error, HTTPStatusError):
        if error.status == 410:
            return "gone"
        if error.status >= 500 or error.status in _SOFT_STATUSES:
            return "soft"
        return "hard"
    if isinstance(error, BodyTooLarge | RedirectLoop | UnsafeDocument):
        return "hard"
    if isinstance(error, FetchError) and _is_bad_url(str(error)):
        return "hard"
    return "soft"


def is_lasting(error: FetchError) -> bool:
    """A failure that retrying soon will not fix, so that ``feeds add`` can refuse the URL:
    4xx answers (but 408 and 429), a name that does not exist, our own address policy,
    a redirect loop, a malformed URL. Timeouts, 5xx and refused connections may pass."""
    if isinstance(error, HTTPStatusError):
        return 400 <= error.status < 500 and error.status not in (408, 429)
    if isinstance(error, BlockedAddress | UnknownHost | RedirectLoop):
        return True
    return _is_bad_url(str(error))


def _is_bad_url(message: str) -> bool:
    return message.startswith(("invalid URL", "unsupported URL scheme", "URL without a host"))


def _clamp(seconds: float, policy: PollPolicy) -> float:
    low = policy.min_interval.total_seconds()
    high = policy.max_interval.total_seconds()
    return min(max(seconds, low), high)


def _skip(when: datetime, skip_hours: tuple[int, ...]) -> datetime:
    hours = set(skip_hours)
    if not hours or len(hours) >= 24:
        return when
    while when.hour in hours:
        when = when.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return when


def decide(
    source: FeedSource,
    seen: PollObservation,
    now: datetime,
    policy: PollPolicy,
    *,
    jitter_sample: float = 0.0,
) -> PollDecision:
    """The next state of ``source`` after the poll ``seen``; ``jitter_sample`` in [0, 1)."""
    current = float(source.interval_seconds or policy.default_interval.total_seconds())
    if seen.kind == "failed":
        return _after_failure(source, seen, now, policy, current, jitter_sample)

    new_share = seen.new_entries / max(seen.entries, 1) if seen.kind == "ok" else 0.0
    if new_share > 0:
        interval = current / (1 + min(new_share, 1.0))
        reason = f"{seen.new_entries} of {seen.entries} entries new"
    else:
        interval = current * 1.25
        reason = "nothing new"
    interval = _clamp(interval, policy)
    wait = interval
    hints = [h for h in (seen.max_age, (seen.ttl_minutes or 0) * 60.0) if h]
    if hints:
        hint = min(max(hints), policy.hint_cap.total_seconds())
        if hint > wait:
            wait = hint
            reason += f"; server asks to wait {hint:.0f}s"
    next_at = _skip(now + timedelta(seconds=wait), seen.skip_hours)
    if next_at - now > timedelta(seconds=wait):
        reason += "; skipHours"

    score = source.failure_score / 2
    score = 0.0 if score < 0.25 else round(score, 3)
    redirect_url, count, new_url = _redirect(source, seen, policy)
    return PollDecision(
        next_fetch_at=next_at,
        interval_seconds=int(round(interval)),
        failure_score=score,
        health="flaky" if score >= 0.5 else "ok",
        redirect_url=redirect_url,
        redirect_count=count,
        new_url=new_url,
        reason=reason,
    )


def _after_failure(
    source: FeedSource,
    seen: PollObservation,
    now: datetime,
    policy: PollPolicy,
    current: float,
    jitter_sample: float,
) -> PollDecision:
    kind = seen.failure or "soft"
    if kind == "refused":
        return _after_refusal(source, now, policy, current)
    weight = policy.hard_weight if kind == "hard" else policy.soft_weight
    score = round(source.failure_score + weight, 3)
    if kind == "gone":
        return PollDecision(
            next_fetch_at=now + policy.failure_cap,
            interval_seconds=int(round(current)),
            failure_score=score,
            health="gone",
            redirect_url=source.redirect_url,
            redirect_count=source.redirect_count,
            reason="410 Gone: no longer polled until resumed",
        )
    failures = source.error_count + 1
    cap = policy.failure_cap.total_seconds()
    wait = min(policy.retry_interval.total_seconds() * failures * weight, cap)
    reason = f"failure {failures} ({kind}): back off {wait:.0f}s"
    if seen.retry_after is not None:
        asked = min(max(seen.retry_after, 0.0), policy.retry_after_cap.total_seconds())
        if asked > wait:
            wait = asked
            reason = f"failure {failures} ({kind}): Retry-After {asked:.0f}s"
    if seen.http_status == 429:
        sample = min(max(jitter_sample, 0.0), 1.0)
        wait *= 1 + policy.jitter * sample
        reason += "; jittered"
    return PollDecision(
        next_fetch_at=now + timedelta(seconds=math.ceil(wait)),
        interval_seconds=int(round(current)),
        failure_score=score,
        health="failing",
        redirect_url=source.redirect_url,
        redirect_count=source.redirect_count,
        reason=reason,
    )


def _after_refusal(
    source: FeedSource, now: datetime, policy: PollPolicy, current: float
) -> PollDecision:
    # Our own policy refused the address: the feed did nothing wrong, so neither its
    # health nor its failure score changes and there is no backoff. It is tried again at
    # its usual interval, soon after the administrator allows the network.
    return PollDecision(
        next_fetch_at=now + timedelta(seconds=_clamp(current, policy)),
        interval_seconds=int(round(current)),
        failure_score=source.failure_score,
        health=None,
        redirect_url=source.redirect_url,
        redirect_count=source.redirect_count,
        reason="refused by the address policy: not counted as a failure",
    )


def _redirect(
    source: FeedSource, seen: PollObservation, policy: PollPolicy
) -> tuple[str | None, int, str | None]:
    """(candidate, times seen, URL to adopt now) after a successful poll."""
    target = seen.final_url
    if not (seen.permanent_redirect and target and target != source.url):
        return None, 0, None
    count = source.redirect_count + 1 if target == source.redirect_url else 1
    if count >= policy.adopt_redirect_after:
        return None, 0, target
    return target, count, None
