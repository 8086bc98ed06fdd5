"""Polls queued for workers (Celery): each feed booked for its host's turn, batched by turn.

A queued poll that finds its host busy must not come back again and again until the host
is free (decision 52). So before a feed is queued, its turn at its host is *booked* with
the pipeline's host limiter (shared by every worker through Redis), and the feeds whose
turns fall in the same second are queued together, as one batch due at that second.
Feeds of many hosts due now share one batch, which is what amortises a task's fixed cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from feeds.fetch.politeness import PollBatch, host_key, plan_batches
from feeds.models import FeedSource
from feeds.ports import HostLimiter
from feeds.usecases.pipeline import Pipeline

__all__ = ["book", "claim_due_batches", "plan"]


def claim_due_batches(pipeline: Pipeline, size: int, *, horizon: float) -> list[PollBatch]:
    """:meth:`Pipeline.claim_due_feeds`, planned: every due feed is booked its host's next
    free turn and the feeds are grouped into batches of at most ``size`` by turn. A feed
    booked for later keeps its claim until its turn plus the claim window; one whose host
    has no turn free within ``horizon`` seconds is not queued now and falls due again
    when its claim runs out."""
    due = pipeline.claim_due_feeds()
    batches = plan(pipeline, due, size, horizon=horizon)
    later = [b for b in batches if b.delay > 0]
    if later:
        now = pipeline.clock.now()
        with pipeline.store.transaction() as repo:
            for batch in later:
                until = now + timedelta(seconds=batch.delay) + pipeline.claim_window
                repo.postpone_feeds(batch.feed_ids, until)
    return batches


def plan(
    pipeline: Pipeline,
    sources: Sequence[FeedSource],
    size: int,
    *,
    horizon: float | None = None,
    keep_late: bool = False,
    limiter: HostLimiter | None = None,
) -> list[PollBatch]:
    """Book each feed's turn at its host and group the feeds by turn (see
    :func:`feeds.fetch.politeness.plan_batches`). A feed whose host has no turn within
    ``horizon`` seconds is left out, or with ``keep_late`` planned for the horizon,
    unbooked (it asks its host then, and books a turn if still refused). ``limiter``:
    where to book, when not the pipeline's own (a CLI queueing for the workers books in
    theirs)."""
    reserve = (limiter or pipeline.limiter).reserve
    booked: list[tuple[int, float]] = []
    for source in sources:
        turn = reserve(host_key(source.url), horizon)
        if turn is not None:
            booked.append((source.id, turn))
        elif keep_late and horizon is not None:
            booked.append((source.id, horizon))
    return plan_batches(booked, size=size)


def book(pipeline: Pipeline, url: str, horizon: float) -> float:
    """Seconds until this feed's host has a turn free for it, booked so that the next
    caller is given the turn after; at most ``horizon`` (unbooked: ask again then)."""
    turn = pipeline.limiter.reserve(host_key(url), horizon)
    return horizon if turn is None else turn
