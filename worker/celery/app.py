"""The Celery application for the distributed deployment.

``newsmon worker`` and ``celery -A worker.celery_app worker`` both use this app. Its
configuration comes from :class:`worker.settings.Settings` when the app is first used
(``on_configure``), never at import time, so importing this module reads nothing.

The delivery settings below are what make "at least once, idempotent tasks" true:
acks_late + reject_on_worker_lost re-queue a task whose worker died mid-run, prefetch 1
stops one worker hoarding work, and the visibility timeout is far longer than the hard time
limit so Redis does not hand a running task to a second worker.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.entity import Queue

from worker.schedule import beat_schedule
from worker.settings import Settings

app = Celery("newsmon", include=["worker.celery.tasks"])
# Every task counts deliveries that killed their process and parks poison messages.
app.task_cls = "worker.celery.reliability:GuardedTask"


# The stages' queues (docs/STAGES.md): fetching never waits behind a burst of analysis.
# A worker started without ``--queues`` consumes all three; dedicated workers name theirs,
# e.g. ``newsmon worker --queues ingest`` and ``newsmon worker --queues analysis,celery``.
INGEST_QUEUE = "ingest"
ANALYSIS_QUEUE = "analysis"
DEFAULT_QUEUE = "celery"  # digests, alerts
TASK_ROUTES = {
    "newsmon.poll_due_feeds": {"queue": INGEST_QUEUE},
    "newsmon.poll_feed": {"queue": INGEST_QUEUE},
    "newsmon.poll_feeds": {"queue": INGEST_QUEUE},
    "newsmon.analyze_articles": {"queue": ANALYSIS_QUEUE},
    "newsmon.analyze_pending": {"queue": ANALYSIS_QUEUE},
}


def celery_config(settings: Settings) -> dict[str, Any]:
    from worker.celery.reliability import check_delivery_settings, transport_options

    check_delivery_settings(settings)
    return {
        "broker_url": settings.broker_url,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "broker_transport_options": transport_options(settings),
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": beat_schedule(settings.scheduler_tick_seconds),
        # Reliability (docs/OPERATIONS.md): reconnect to a restarted broker for ever; a
        # task running when the connection drops is given back rather than acknowledged
        # on a channel that no longer exists.
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_default_queue": DEFAULT_QUEUE,
        "task_queues": [
            Queue(name)  # type: ignore[no-untyped-call]  # kombu is untyped
            for name in (DEFAULT_QUEUE, INGEST_QUEUE, ANALYSIS_QUEUE)
        ],
        "task_routes": TASK_ROUTES,
    }


@app.on_configure.connect
def _configure(sender: Celery, **_: Any) -> None:
    from worker.bootstrap import current_settings

    sender.conf.update(celery_config(current_settings()))
