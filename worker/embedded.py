"""The embedded scheduler (``newsmon run``): one process, SQLite, no broker.

Each tick runs the checks of :mod:`worker.schedule` -- the same list Celery beat sends --
with the same use cases as the Celery tasks: poll the feeds that are due, analyse what is
pending (articles a crash left unanalysed included), send the digests and alerts that are
due. So the two deployments cannot drift apart.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from feeds.errors import ConfigError, StorageError
from worker.bootstrap import Container
from worker.cli.output import console, err_console, print_pass
from worker.schedule import ALERTS, ANALYZE, DIGESTS, POLL, SCHEDULE, Check


def run_once(c: Container) -> None:
    """One tick: every check of :data:`worker.schedule.SCHEDULE`, in its order."""
    mail_blocked = False
    for check in SCHEDULE:
        if check in (DIGESTS, ALERTS) and mail_blocked:
            continue
        try:
            _STEPS[check](c)
        except ConfigError as exc:
            if check not in (DIGESTS, ALERTS):
                raise
            # E.g. no unsubscribe secret: polling goes on; the digests wait for the fix.
            err_console.print(f"error: digests not sent: {exc}", markup=False)
            mail_blocked = True


def _poll(c: Container) -> None:
    due = c.pipeline.due_feeds()
    if due:
        started = time.monotonic()
        print_pass(c.pipeline.poll_pass(due), time.monotonic() - started)


def _analyze(c: Container) -> None:
    c.pipeline.analyze_pending()


def _digests(c: Container) -> None:
    for outcome in c.pipeline.send_due_digests():
        console.print(
            f"digest {outcome.subscription} {outcome.period.key}: {outcome.status}",
            markup=False,
        )


def _alerts(c: Container) -> None:
    for outcome in c.pipeline.send_spike_alerts():
        console.print(
            f"alert {outcome.subscription} {outcome.period.key}: {outcome.status}", markup=False
        )


_STEPS: dict[Check, Callable[[Container], None]] = {
    POLL: _poll,
    ANALYZE: _analyze,
    DIGESTS: _digests,
    ALERTS: _alerts,
}


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
