"""Driving a pass through the Celery workers from the CLI (``poll --enqueue [--wait]``).

Waiting does not use a result backend: the database already says when a pass is done —
every feed of the pass has a fetch recorded after the pass started, and no article is
waiting for analysis. That works whichever worker ran which task, and after retries.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from kombu.exceptions import OperationalError

from feeds.errors import ConfigError, NewsmonError, StorageError
from feeds.models import FeedSource
from feeds.usecases import feeds as feed_list
from feeds.usecases import queueing
from worker.bootstrap import Container
from worker.cli.output import console, plural


def _broker_hint(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def enqueue_pass(
    c: Container,
    sources: Sequence[FeedSource],
    *,
    wait: bool,
    timeout: float,
    wait_for_analysis: bool = True,
) -> tuple[int, int] | None:
    """Queue the feeds in batches, each for its hosts' booked turns (as the scheduler
    does); with ``wait``, return (feeds polled, of them failed)."""
    from worker.bootstrap import build_host_limiter
    from worker.celery.tasks import POLL_BATCH, horizon, queue_batch

    started = c.pipeline.clock.now()
    # The turns are booked where the workers take their leases (Redis, by default).
    limiter = build_host_limiter(c.settings, celery_worker=True)
    try:
        batches = queueing.plan(
            c.pipeline, sources, POLL_BATCH, horizon=horizon(), keep_late=True, limiter=limiter
        )
        for batch in batches:
            queue_batch(batch, retry=True, retry_policy={"max_retries": 2})
    except OperationalError as exc:
        raise ConfigError(
            f"cannot reach the broker at {_broker_hint(c.settings.broker_url)} ({exc}); "
            "is Redis running and NEWSMON_BROKER_URL right?"
        ) from None
    except StorageError as exc:
        if c.settings.host_limiter_url:  # a Redis of its own: its own message says which
            raise
        raise ConfigError(
            f"cannot reach the broker at {_broker_hint(c.settings.broker_url)}, where the "
            f"hosts' turns are booked ({exc}); is Redis running and NEWSMON_BROKER_URL right?"
        ) from None
    finally:
        close = getattr(limiter, "close", None)
        if close is not None:
            close()
    console.print(f"enqueued {plural(len(sources), 'feed')}", markup=False)
    if not wait:
        return None
    ids = {s.id for s in sources}
    deadline = time.monotonic() + timeout
    while True:
        pending_feeds, pending_analysis = _progress(c, ids, started)
        pending_analysis = pending_analysis and wait_for_analysis
        if not pending_feeds and not pending_analysis:
            break
        if time.monotonic() > deadline:
            raise NewsmonError(
                f"gave up after {timeout:.0f}s: {plural(pending_feeds, 'feed')} not yet polled, "
                "articles still waiting for analysis; are the workers running?"
            )
        time.sleep(0.25)
    return _summary(c, ids, started)


def _progress(c: Container, ids: set[int], started: datetime) -> tuple[int, bool]:
    progress = feed_list.pass_progress(c.store, ids, started)
    return progress.waiting, progress.analysis_pending


def _summary(c: Container, ids: set[int], started: datetime) -> tuple[int, int]:
    feeds = feed_list.pass_progress(c.store, ids, started).feeds
    new = feed_list.count_new_articles(c.store, started)
    failed = sum(1 for f in feeds if f.error_count)
    console.print(
        f"done: {plural(len(feeds), 'feed')} polled by the workers, {len(feeds) - failed} ok, "
        f"{failed} failed; {plural(new, 'new article')}",
        markup=False,
    )
    return len(feeds), failed
