"""The embedded scheduler (``newsmon run``): one process, SQLite, no broker.

Each tick polls the feeds that are due, analyses what is pending (articles a crash left
unanalysed included) and sends the digests that are due. The same use cases as the Celery
tasks, so the two deployments cannot drift apart.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

from feeds.errors import ConfigError, StorageError
from worker.bootstrap import Container
from worker.cli.output import console, err_console, print_pass


def run_once(c: Container) -> None:
    pipeline = c.pipeline
    due = pipeline.due_feeds()
    if due:
        started = time.monotonic()
        print_pass(pipeline.poll_pass(due), time.monotonic() - started)
    pipeline.analyze_pending()
    try:
        for outcome in pipeline.send_due_digests():
            console.print(
                f"digest {outcome.subscription} {outcome.period.key}: {outcome.status}",
                markup=False,
            )
        for outcome in pipeline.send_spike_alerts():
            console.print(
                f"alert {outcome.subscription} {outcome.period.key}: {outcome.status}", markup=False
            )
    except ConfigError as exc:
        # E.g. no unsubscribe secret: polling goes on; the digests wait for the fix.
        err_console.print(f"error: digests not sent: {exc}", markup=False)


def run_forever(c: Container, *, tick: float = 30.0) -> None:
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"newsmon running on {c.settings.database_url}; Ctrl-C stops", markup=False)
    while not stop.is_set():
        try:
            run_once(c)
        except StorageError as exc:
            # The database may come back (a restart, a full disk freed): say so and retry.
            err_console.print(f"error: {exc}; retrying in {tick:.0f}s", markup=False)
        stop.wait(tick)
    c.pipeline.close()  # the ingest worker processes, if any
    console.print("stopped", markup=False)
