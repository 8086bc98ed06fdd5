"""Faults planted inside real worker processes (``newsmon worker -I tests.fault_hooks``).

Imported by the worker before it forks its pool, so every pool process carries them:

* a poll of a batch holding a feed whose URL contains ``/poison`` kills its own process
  (SIGKILL) — a task that always crashes its worker;
* when ``NEWSMON_FAULT_KILL_AFTER_POLL`` names a file that exists, the first poll a process
  completes removes the file and kills the process after the poll's articles were
  committed and before they are handed to analysis;
* when ``NEWSMON_FAULT_KILL_AFTER_SEND`` names a file that exists, the first digest copy a
  process sends removes the file and kills the process after the server accepted the copy
  and before the delivery is recorded.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from feeds.usecases.pipeline import Pipeline
from worker.mailer import SmtpMailer

_poll_feeds = Pipeline.poll_feeds
_send = SmtpMailer.send


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _poisoned_poll(self: Pipeline, feed_ids: Any, **options: Any) -> Any:
    if any("/poison" in source.url for source in self.sources(list(feed_ids))):
        _die()  # the whole batch dies with it, as a real crash would take it
    report = _poll_feeds(self, feed_ids, **options)
    _die_once("NEWSMON_FAULT_KILL_AFTER_POLL")
    return report


def _die_once(variable: str) -> None:
    """Die if the file named by ``variable`` exists (removing it: one death in all)."""
    flag = os.environ.get(variable)
    if flag:
        try:
            Path(flag).unlink()
        except FileNotFoundError:
            return
        _die()


def _send_then_die(self: SmtpMailer, email: Any) -> Any:
    result = _send(self, email)
    _die_once("NEWSMON_FAULT_KILL_AFTER_SEND")
    return result


Pipeline.poll_feeds = _poisoned_poll  # type: ignore[method-assign]
SmtpMailer.send = _send_then_die  # type: ignore[method-assign]
