"""The schedule, in one place: what runs on every scheduler tick, for both deployments.

Each check only *looks* for due work; the use cases decide. Celery beat sends each check's
task every ``every`` ticks (:func:`beat_schedule`, used by :mod:`worker.celery.app`); the
embedded runner (``newsmon run``, :mod:`worker.embedded`) runs every check on every tick,
in this order, because in one process they are a few cheap queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # the beat entry's name
    task: str  # the Celery task's registered name (scheduled messages reference it)
    every: int = 1  # beat: ticks between two runs


POLL = Check("poll-due-feeds", "newsmon.poll_due_feeds")
# A sweep for articles whose analysis task was lost (e.g. the broker restarted); five
# ticks: every five minutes with the default one-minute tick.
ANALYZE = Check("analyze-pending", "newsmon.analyze_pending", every=5)
DIGESTS = Check("send-due-digests", "newsmon.send_due_digests")
ALERTS = Check("send-spike-alerts", "newsmon.send_spike_alerts", every=5)

SCHEDULE: tuple[Check, ...] = (POLL, ANALYZE, DIGESTS, ALERTS)


def beat_schedule(tick: float) -> dict[str, dict[str, Any]]:
    """Celery beat's ``beat_schedule`` for a tick of ``tick`` seconds."""
    return {c.name: {"task": c.task, "schedule": c.every * tick} for c in SCHEDULE}
