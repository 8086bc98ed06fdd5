"""Top-level commands that run newsmon: ``poll``, ``run``, ``worker``, ``beat``, ``status``,
``prune`` and ``demo``. Registered on the root app by :func:`register`."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from feeds.errors import InvalidInput
from worker.cli.base import EXIT_ALL_FEEDS_FAILED, container
from worker.cli.output import _ago, console, err_console, plural, print_pass

QUEUE = "celery"  # the default Celery queue the tasks go to


def init() -> None:
    """Create the database (or bring an existing one to this version's schema)."""
    c = container(create=True)
    console.print(f"database ready: {c.store.where()}", markup=False, highlight=False)


def status() -> None:
    """The database, feeds by health, due now, failing hosts, queue depth, digest runs."""
    from feeds.fetch.health import summarize
    from feeds.usecases import feeds as feed_list

    c = container()
    now = c.pipeline.clock.now()
    found = feed_list.status(c.store, runs=5)
    runs, subs, tombstones = found.recent_runs, found.subscription_names, found.tombstones
    summary = summarize(found.feeds, now)
    parts = ", ".join(f"{n} {h}" for h, n in summary.by_health.items()) or "none"
    out = [
        f"database: {c.store.where()}",
        f"feeds: {summary.total} ({parts})",
        f"due now: {summary.due_now}",
    ]
    if summary.failing_hosts:
        out.append("failing hosts:")
        out += [
            f"  {h.host}: {h.failing} of {plural(h.feeds, 'feed')} failing; "
            f"last error: {h.last_error}"
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
            f" ({plural(r.article_count, 'article')}, {_ago(r.sent_at or r.created_at, now)})"
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
    return f"{plural(depth, 'task')} waiting on {where}"


def prune(
    older_than: Annotated[
        float, typer.Option("--older-than", help="Remove articles first seen more than DAYS ago.")
    ],
) -> None:
    """Remove old articles; their identities are kept so that feeds cannot bring them back."""
    from feeds.usecases import feeds as feed_list

    if not older_than > 0:
        raise InvalidInput(f"--older-than {older_than:g}: give a positive number of days")
    c = container()
    now = c.pipeline.clock.now()
    cutoff = now - timedelta(days=older_than)
    removed = feed_list.prune(c.store, cutoff, now)
    console.print(
        f"pruned {plural(removed, 'article')} first seen before {cutoff:%Y-%m-%d %H:%M} UTC",
        markup=False,
    )


def poll(
    feed_ids: Annotated[list[int] | None, typer.Argument(help="Feed ids (default: due).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every active feed, due or not.")] = False,
    enqueue: Annotated[
        bool, typer.Option("--enqueue", help="Send the pass to the Celery workers.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="With --enqueue: wait until done.")] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: give up after seconds.")] = 3600,
    defer_analysis: Annotated[
        bool,
        typer.Option(
            "--defer-analysis",
            help="Store new articles and leave their analysis pending (for workers, "
            "`newsmon run`, a later poll or `newsmon reanalyze --pending`).",
        ),
    ] = False,
) -> None:
    """Poll feeds once: fetch, parse, deduplicate, store, then analyse what is pending."""
    if all_ and feed_ids:
        raise typer.BadParameter("give either --all or feed ids, not both")
    if wait and not enqueue:
        raise typer.BadParameter("--wait only makes sense with --enqueue")
    pipeline = container().pipeline
    if all_:
        sources = pipeline.sources()
    elif feed_ids:
        sources = pipeline.sources(feed_ids)
    else:
        sources = pipeline.due_feeds()
    if enqueue:
        from worker.celery.enqueue import enqueue_pass

        done = enqueue_pass(
            container(),
            sources,
            wait=wait,
            timeout=timeout,
            wait_for_analysis=not defer_analysis,
        )
        if done is not None:
            _exit_if_all_failed(*done)
        return
    started = time.monotonic()
    try:
        report = pipeline.poll_pass(sources, analyze=False)
        if not defer_analysis:
            # The pass's new articles and any a deferred pass or a crash left pending.
            report = replace(report, analyzed=pipeline.analyze_pending())
    finally:
        pipeline.close()  # worker processes, if the pass started any
    print_pass(report, time.monotonic() - started)
    _exit_if_all_failed(len(report.feeds), report.count("failed"))


def _exit_if_all_failed(polled: int, failed: int) -> None:
    # Partial failure is a normal day for a feed reader (exit 0); a pass in which nothing
    # could be fetched usually means the network, DNS or a proxy is down, which a
    # scheduler should be able to tell from success.
    if polled and failed == polled:
        err_console.print(
            f"error: every feed failed ({plural(polled, 'feed')}); see the reasons above",
            markup=False,
        )
        raise typer.Exit(EXIT_ALL_FEEDS_FAILED)


def run(
    tick: Annotated[
        float | None,
        typer.Option(help="Seconds between scheduler checks (default: the setting)."),
    ] = None,
) -> None:
    """Embedded scheduler: poll due feeds and send due digests until stopped (Ctrl-C)."""
    from worker.embedded import run_forever

    c = container()
    run_forever(c, tick=tick or c.settings.scheduler_tick_seconds)


def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker (extra arguments go to Celery)."""
    from worker.celery.app import app as celery

    # No gossip and no mingle: newsmon uses neither (parked tasks and progress live in
    # Redis and the database), both are broadcasts whose traffic grows with the number of
    # workers, and the fault-injection suite proves recovery in this configuration
    # (docs/OPERATIONS.md).
    celery.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            *ctx.args,
        ]
    )


def beat(
    ctx: typer.Context,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start the Celery beat scheduler (extra arguments go to Celery)."""
    from worker.celery.app import app as celery

    celery.start(["beat", f"--loglevel={loglevel}", *ctx.args])


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to put the demo's files.")] = Path(
        "newsmon-demo"
    ),
) -> None:
    """Run the whole pipeline offline on the demo corpus in seeds/demo/."""
    from worker.demo import run_demo

    run_demo(directory)
