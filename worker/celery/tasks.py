"""Thin Celery tasks: take ids, re-read the world, call one use case, own retries.

Every task is idempotent by construction: polling twice sends a conditional GET and inserts
nothing (unique keys), analysis replaces its rows, a digest period is claimed once. New
articles are handed to ``analyze_articles`` only after the poll's transaction committed.
"""

from __future__ import annotations

import random
from datetime import datetime

from celery.utils.log import get_task_logger
from kombu.exceptions import OperationalError

from feeds.errors import StorageError
from feeds.models import Period
from feeds.usecases.pipeline import Pipeline
from worker import bootstrap
from worker.celery.app import app
from worker.celery.reliability import died_before

log = get_task_logger(__name__)

_RETRY = {
    "autoretry_for": (StorageError,),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


def _pipeline() -> Pipeline:
    # The tasks' container shares per-host limits through Redis (NEWSMON_HOST_LIMITER=auto).
    return bootstrap.container(celery_worker=True).pipeline


@app.task(name="newsmon.poll_due_feeds", **_RETRY)
def poll_due_feeds() -> int:
    # Claimed: postponed while queued, so the next beat tick does not queue them again.
    sources = _pipeline().claim_due_feeds()
    for source in sources:
        poll_feed.delay(source.id)
    return len(sources)


@app.task(name="newsmon.poll_feed", **_RETRY)
def poll_feed(feed_id: int) -> dict[str, object]:
    report = _pipeline().poll_feed(feed_id)  # committed when it returns
    if report.status == "deferred":
        # The host is at its limit: come back later instead of holding this worker.
        countdown = max(report.retry_in or 0.0, 1.0) + random.random()
        poll_feed.apply_async((feed_id,), countdown=countdown)
        return {"status": "deferred", "new": 0}
    if report.status == "failed":
        log.warning("feed %s failed: %s", feed_id, report.error)
    to_analyse = list(report.new_article_ids)
    if died_before(poll_feed):
        # The run before this one may have died after its articles were committed and
        # before they were handed on: this run finds them already stored (not new), so it
        # hands on whatever of this feed still waits, instead of leaving it to the sweep.
        to_analyse = sorted(set(to_analyse) | set(_pipeline().pending_of_feed(feed_id)))
    if to_analyse:
        try:
            analyze_articles.delay(to_analyse)
        except OperationalError:
            # The broker is gone (a restart): analyse here rather than leave it to the sweep.
            _pipeline().analyze_pending(ids=to_analyse)
    return {"status": report.status, "new": len(report.new_article_ids)}


@app.task(name="newsmon.analyze_articles", **_RETRY)
def analyze_articles(article_ids: list[int]) -> int:
    return _pipeline().analyze_pending(ids=article_ids)


@app.task(name="newsmon.analyze_pending", **_RETRY)
def analyze_pending() -> int:
    return _pipeline().analyze_pending()


@app.task(name="newsmon.send_due_digests", **_RETRY)
def send_due_digests() -> int:
    due = _pipeline().due_digests()
    for name, period in due:
        send_digest.delay(name, period.key, period.start.isoformat(), period.end.isoformat())
    return len(due)


@app.task(name="newsmon.send_digest", **_RETRY)
def send_digest(name: str, period_key: str, start: str, end: str) -> str:
    period = Period(period_key, datetime.fromisoformat(start), datetime.fromisoformat(end))
    outcome = _pipeline().send_digest(name, period)
    if outcome.status == "failed":
        log.warning("digest %s for %s failed: %s", name, period_key, outcome.error)
    return outcome.status


@app.task(name="newsmon.send_spike_alerts", **_RETRY)
def send_spike_alerts() -> int:
    outcomes = _pipeline().send_spike_alerts()
    for outcome in outcomes:
        if outcome.status == "failed":
            log.warning(
                "alert %s for %s failed: %s",
                outcome.subscription,
                outcome.period.key,
                outcome.error,
            )
    return len(outcomes)
