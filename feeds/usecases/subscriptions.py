"""Digest subscriptions: add, list, show, pause, change filters, remove.

Addresses are checked by the caller's ``check_address`` (the mail adapter's parser), so
what is stored is exactly what the mailer will accept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.digest.periods import parse_hhmm
from feeds.errors import InvalidInput
from feeds.models import DigestRun, Sentiment, Subscription, SubscriptionSpec
from feeds.ports import Store

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def check_sentiments(values: Sequence[str]) -> tuple[Sentiment, ...]:
    allowed: tuple[Sentiment, ...] = ("negative", "neutral", "positive")
    out: list[Sentiment] = []
    for value in values:
        match = [s for s in allowed if s == value.strip().lower()]
        if not match:
            raise InvalidInput(f"--sentiment {value!r}: use negative, neutral or positive")
        out.append(match[0])
    return tuple(dict.fromkeys(out))


def add_subscription(
    store: Store,
    now: datetime,
    check_address: Callable[[str], str],
    name: str,
    emails: Sequence[str],
    schedule: str,
    at: str,
    tz: str,
    day: str,
    topics: Sequence[str],
    actors: Sequence[str],
    *,
    queries: Sequence[str] = (),
    sentiments: Sequence[str] = (),
    outlets: Sequence[str] = (),
    spike_alerts: bool = False,
) -> Subscription:
    if not name.strip():
        raise InvalidInput("a subscription needs a name")
    if schedule not in ("daily", "weekly", "immediate"):
        raise InvalidInput(f"--schedule {schedule!r}: use daily, weekly or immediate")
    if day.lower() not in WEEKDAYS:
        raise InvalidInput(f"--day {day!r}: use a weekday name such as monday")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"--tz {tz!r} is not a known time zone (e.g. Europe/London)") from None
    if not emails:
        raise InvalidInput("give at least one --email")
    spec = SubscriptionSpec(
        name=name.strip(),
        emails=tuple(check_address(e) for e in emails),
        schedule=schedule,  # type: ignore[arg-type]  # checked above
        at=parse_hhmm(at),
        tz=tz,
        weekday=WEEKDAYS.index(day.lower()),
        topics=tuple(topics),
        actors=tuple(actors),
        queries=tuple(queries),
        sentiments=check_sentiments(sentiments),
        outlets=tuple(outlets),
        spike_alerts=spike_alerts,
    )
    with store.transaction() as repo:
        return repo.add_subscription(spec, now)


def list_subscriptions(store: Store) -> list[Subscription]:
    with store.transaction() as repo:
        return repo.list_subscriptions()


def remove_subscription(store: Store, name: str) -> None:
    with store.transaction() as repo:
        repo.remove_subscription(name)


def subscription_runs(
    store: Store, name: str, *, runs: int = 5
) -> tuple[Subscription, list[DigestRun]]:
    """The subscription and its last ``runs`` digest runs, oldest first."""
    with store.transaction() as repo:
        sub = repo.get_subscription(name)
        return sub, repo.list_digest_runs(sub.id)[-runs:]


def set_paused(store: Store, name: str, paused: bool) -> None:
    with store.transaction() as repo:
        repo.set_subscription_paused(name, paused)


def change_filters(
    store: Store,
    name: str,
    *,
    topics: Sequence[str] | None = None,
    actors: Sequence[str] | None = None,
    queries: Sequence[str] | None = None,
    sentiments: Sequence[str] | None = None,
    outlets: Sequence[str] | None = None,
    spike_alerts: bool | None = None,
    clear: bool = False,
) -> Subscription:
    """Replace each kind of filter given (None leaves it); ``clear`` drops all first."""
    with store.transaction() as repo:
        spec = repo.get_subscription(name).spec
        if clear:
            spec = replace(spec, topics=(), actors=(), queries=(), sentiments=(), outlets=())
        changes: dict[str, object] = {}
        for key, value in (
            ("topics", topics),
            ("actors", actors),
            ("queries", queries),
            ("outlets", outlets),
        ):
            if value is not None:
                changes[key] = tuple(value)
        if sentiments is not None:
            changes["sentiments"] = check_sentiments(sentiments)
        if spike_alerts is not None:
            changes["spike_alerts"] = spike_alerts
        return repo.update_subscription(replace(spec, **changes))  # type: ignore[arg-type]
