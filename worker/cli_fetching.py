"""CLI commands about fetching: ``status``, ``prune``, ``feeds full-text`` and feed discovery.

Registered on the main app by :func:`register` (one line in :mod:`worker.cli`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from feeds.discover import discover_feed
from feeds.errors import FetchError, InvalidInput
from feeds.health import summarize
from worker import bootstrap
from worker.bootstrap import Container
from worker.cli_output import _ago, console

QUEUE = "celery"  # the default Celery queue the tasks go to


def discover_for_add(c: Container, url: str) -> str:
    """The feed URL to store for ``feeds add URL``; says what it chose.

    When the URL cannot be fetched now, it is added as given (it may come back later) and
    the reason is printed; when it is fetched but holds no feed, that is an error.
    """
    try:
        found = discover_feed(url, c.fetcher)
    except FetchError as exc:
        console.print(f"could not check {url} now ({exc}); adding it as given", markup=False)
        return url
    if found.url != url:
        console.print(f"found feed {found.url} via {found.how}", markup=False, highlight=False)
    return found.url


def status() -> None:
    """Feeds by health, feeds due now, failing hosts, queue depth, last digest runs."""
    c = bootstrap.container()
    now = c.pipeline.clock.now()
    with c.store.transaction() as repo:
        feeds = repo.list_feeds()
        runs = repo.list_digest_runs()[-5:]
        subs = {s.id: s.name for s in repo.list_subscriptions()}
        tombstones = repo.count_tombstones()
    summary = summarize(feeds, now)
    parts = ", ".join(f"{n} {h}" for h, n in summary.by_health.items()) or "none"
    out = [
        f"feeds: {summary.total} ({parts})",
        f"due now: {summary.due_now}",
    ]
    if summary.failing_hosts:
        out.append("failing hosts:")
        out += [
            f"  {h.host}: {h.failing} of {h.feeds} feeds failing; last error: {h.last_error}"
            for h in summary.failing_hosts
        ]
    else:
        out.append("failing hosts: none")
    out.append(f"queue depth: {_queue_depth(c.settings.broker_url)}")
    out.append(f"tombstones (pruned articles not stored again): {tombstones}")
    if runs:
        out.append("last digest runs:")
        out += [
            f"  {subs.get(r.subscription_id, r.subscription_id)} {r.period_key}: {r.status}"
            f" ({r.article_count} articles, {_ago(r.sent_at or r.created_at, now)})"
            for r in reversed(runs)
        ]
    else:
        out.append("last digest runs: none")
    for line in out:
        console.print(line, markup=False, highlight=False)


def _queue_depth(broker_url: str) -> str:
    import redis  # only `status` needs it: 0.1 s off every other command's start-up

    where = broker_url.split("@")[-1]
    try:
        client = redis.Redis.from_url(broker_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            depth = int(client.llen(QUEUE))
        finally:
            client.close()
    except (redis.RedisError, ValueError) as exc:
        return f"unknown (broker {where} not reachable: {exc}; the embedded mode needs none)"
    return f"{depth} tasks waiting on {where}"


def prune(
    older_than: Annotated[
        float, typer.Option("--older-than", help="Remove articles first seen more than DAYS ago.")
    ],
) -> None:
    """Remove old articles; their identities are kept so that feeds cannot bring them back."""
    if not older_than > 0:
        raise InvalidInput(f"--older-than {older_than:g}: give a positive number of days")
    c = bootstrap.container()
    now = c.pipeline.clock.now()
    cutoff = now - timedelta(days=older_than)
    with c.store.transaction() as repo:
        removed = repo.prune_articles(cutoff, now)
    console.print(
        f"pruned {removed} articles first seen before {cutoff:%Y-%m-%d %H:%M} UTC", markup=False
    )


def full_text(
    feed_id: int,
    state: Annotated[str, typer.Argument(help="on | off")],
) -> None:
    """Fetch the article pages of a summary-only feed for their full text (on/off)."""
    if state not in ("on", "off"):
        raise InvalidInput(f"{state!r}: say on or off")
    with bootstrap.container().store.transaction() as repo:
        repo.set_feed_full_text(feed_id, state == "on")
    console.print(f"full text {state} for feed {feed_id}", markup=False)


def register(app: typer.Typer, feeds_app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("prune")(prune)
    feeds_app.command("full-text")(full_text)
