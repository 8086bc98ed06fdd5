"""Thin Celery tasks: take ids, re-read the world, call one use case, own retries.

Every task is idempotent by construction: polling twice sends a conditional GET and inserts
nothing (unique keys), analysis replaces its rows, a digest period is claimed once. New
articles are handed to ``analyze_articles`` only after the poll's transaction committed.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from celery.utils.log import get_task_logger
from kombu.exceptions import OperationalError

from feeds.errors import StorageError
from feeds.fetch.politeness import PollBatch
from feeds.models import Period
from feeds.usecases import queueing
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


# Feeds polled by one task: a task costs a few ms of CPU whatever it does (the message,
# the acknowledgement, the container), so unchanged feeds are polled by the score, with
# one transaction for their schedules, as the embedded pass polls them.
POLL_BATCH = 20
# New articles analysed by one task at most: a batch of 20 changed feeds may bring a
# thousand, and one task must stay well inside the task time limit (and spread over the
# analysis workers), as one feed's articles did when each feed was its own task.
ANALYSIS_TASK_SIZE = 50
# Seconds a batch waits inside its task for a busy host before booking the feed a later
# turn instead: the turns are booked when the batch is queued, so this is rarely needed.
PATIENCE = 2.0


@app.task(name="newsmon.poll_due_feeds", **_RETRY)
def poll_due_feeds() -> int:
    # Claimed: postponed while queued, so the next beat tick does not queue them again.
    # Each feed is booked for its host's next free turn, and queued for then, once.
    # Turns further off than a task may be delayed wait for a later tick.
    batches = queueing.claim_due_batches(_pipeline(), POLL_BATCH, horizon=horizon())
    for batch in batches:
        queue_batch(batch)
    return sum(len(b.feed_ids) for b in batches)


def horizon() -> float:
    """The longest a poll is queued ahead: no more than a countdown may be (a longer one
    would outlive the broker's visibility timeout) nor than a feed's claim lasts."""
    settings = bootstrap.current_settings()
    return float(min(settings.task_max_countdown, settings.poll_claim_minutes * 60))


def queue_batch(batch: PollBatch, **options: Any) -> None:
    """Send one :func:`poll_feeds` task for ``batch``, due at its booked time."""
    countdown = batch.delay if batch.delay > 0 else None
    poll_feeds.apply_async((list(batch.feed_ids),), countdown=countdown, **options)


@app.task(name="newsmon.poll_feeds", **_RETRY)
def poll_feeds(feed_ids: list[int]) -> dict[str, object]:
    pipeline = _pipeline()
    if len(feed_ids) > 1 and died_before(poll_feeds):
        # An earlier delivery of this batch killed its process, and any of its feeds may
        # be the cause: each goes again alone, so the poison guard parks only the culprit
        # and the others are polled as if the batch had never met it.
        log.warning("a batch of %d feeds crashed its worker; splitting it", len(feed_ids))
        # what the dead run stored but did not hand on (its single-feed reruns find it
        # already stored, so they would not)
        _hand_on(pipeline, _still_pending(pipeline, feed_ids))
        _split(feed_ids)
        return {"status": "split", "new": 0}
    try:
        report = pipeline.poll_feeds(feed_ids, patience=PATIENCE)  # committed when it returns
    except StorageError:
        raise  # the database or the limiter's Redis is down: retried with back-off
    except Exception:
        if len(feed_ids) == 1:
            raise
        # One feed's unexpected failure must not cost the others their poll: each goes
        # again in a task of its own (polling is idempotent), and only the culprit fails.
        log.exception("a batch of %d feeds failed; polling them one by one", len(feed_ids))
        _split(feed_ids)
        return {"status": "split", "new": 0}
    new: list[int] = []
    deferred = 0
    for feed in report.feeds:
        if feed.status == "deferred":
            deferred += 1
            # Its host stayed busy: book its next turn there and come back once, then.
            countdown = queueing.book(pipeline, feed.url, horizon()) + random.random() * 0.1
            poll_feeds.apply_async(([feed.feed_id],), countdown=countdown)
        elif feed.status == "failed":
            log.warning("feed %s failed: %s", feed.feed_id, feed.error)
        new.extend(feed.new_article_ids)
    if died_before(poll_feeds) or poll_feeds.request.retries:
        # A run before this one may have died, or failed (a database error half-way
        # through the batch is retried), after some feeds' articles were committed and
        # before they were handed on: this run finds them stored (not new), so it hands on
        # whatever of these feeds still waits, instead of leaving it to the sweep.
        new.extend(_still_pending(pipeline, feed_ids))
    _hand_on(pipeline, sorted(set(new)))
    return {
        "status": "done",
        "feeds": len(report.feeds),
        "deferred": deferred,
        "new": report.new_articles,
    }


@app.task(name="newsmon.poll_feed", **_RETRY)
def poll_feed(feed_id: int) -> dict[str, object]:
    """One feed (the task before batches; kept for tasks already queued by an older
    version)."""
    pipeline = _pipeline()
    report = pipeline.poll_feed(feed_id)  # committed when it returns
    if report.status == "deferred":
        # The host is at its limit: book its next turn and come back then, once.
        countdown = queueing.book(pipeline, report.url, horizon()) + random.random() * 0.1
        poll_feeds.apply_async(([feed_id],), countdown=countdown)
        return {"status": "deferred", "new": 0}
    if report.status == "failed":
        log.warning("feed %s failed: %s", feed_id, report.error)
    to_analyse = list(report.new_article_ids)
    if died_before(poll_feed):
        to_analyse = sorted(set(to_analyse) | set(pipeline.pending_of_feed(feed_id)))
    _hand_on(pipeline, to_analyse)
    return {"status": report.status, "new": len(report.new_article_ids)}


def _still_pending(pipeline: Pipeline, feed_ids: list[int]) -> list[int]:
    """Articles of these feeds still waiting for analysis, each once."""
    return sorted({i for feed_id in feed_ids for i in pipeline.pending_of_feed(feed_id)})


def _split(feed_ids: list[int]) -> None:
    for feed_id in feed_ids:
        poll_feeds.apply_async(([feed_id],), retry=True, retry_policy={"max_retries": 2})


def _hand_on(pipeline: Pipeline, article_ids: list[int]) -> None:
    """Queue the analysis of these new articles, in tasks of at most ANALYSIS_TASK_SIZE."""
    for start in range(0, len(article_ids), ANALYSIS_TASK_SIZE):
        chunk = article_ids[start : start + ANALYSIS_TASK_SIZE]
        try:
            analyze_articles.delay(chunk)
        except OperationalError:
            # The broker is gone (a restart): analyse here rather than leave it to the sweep.
            pipeline.analyze_pending(ids=chunk)


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
