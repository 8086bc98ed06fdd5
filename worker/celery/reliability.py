"""Delivery guarantees of the Celery deployment: the settings check and the poison guard.

Celery on Redis delivers a task *at least once* when the worker acknowledges late
(``task_acks_late``), gives a task back when its pool process dies
(``task_reject_on_worker_lost``) and Redis waits longer than any task can run before handing
an unacknowledged one to another worker (the visibility timeout). The catch of the second
setting is the poison message: a task that kills its process is given back, kills the next
one, and so on for ever. :class:`GuardedTask` bounds that:

* before the task body runs, a counter for the task id is incremented in Redis;
* when the body returns or raises (a retry included), the counter is removed again;
* so the counter only grows when the process *died* in the body; the delivery after
  ``max_task_crashes`` such deaths does not run the body: the task is *parked* — written to
  a Redis hash that ``newsmon tasks parked`` lists — and acknowledged. The rest of the
  queue is unaffected. A parked poll pauses its feed, so the scheduler does not bring the
  same crash back every claim window; ``newsmon tasks unpark`` resumes and re-queues it.

The counters and the parked list live in the broker's Redis: they are exactly as durable as
the queued messages they describe. See docs/OPERATIONS.md.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Task

from feeds.errors import ConfigError, NewsmonError
from worker.settings import Settings

log = logging.getLogger(__name__)

CRASH_KEY = "newsmon:crashes:"  # + task id -> deliveries that died in the body
PARKED_KEY = "newsmon:parked"  # hash: task id -> JSON of the parked task
CRASH_TTL = 7 * 24 * 3600  # a counter of a task that never comes back expires


def check_delivery_settings(settings: Settings) -> None:
    """Refuse settings under which Redis would run one task twice at once."""
    if settings.task_soft_time_limit >= settings.task_time_limit:
        raise ConfigError("NEWSMON_TASK_SOFT_TIME_LIMIT must be below NEWSMON_TASK_TIME_LIMIT")
    longest = settings.task_time_limit + settings.task_max_countdown
    if settings.visibility_timeout <= longest:
        raise ConfigError(
            f"NEWSMON_VISIBILITY_TIMEOUT ({settings.visibility_timeout}s) must exceed the "
            f"hard time limit plus the longest countdown ({longest}s), or Redis hands a "
            "running task to a second worker"
        )


def transport_options(settings: Settings) -> dict[str, Any]:
    """Redis transport options: when an unacknowledged task counts as abandoned, how often
    to look for abandoned ones, and socket timeouts so a vanished broker is noticed."""
    return {
        "visibility_timeout": settings.visibility_timeout,
        "unacked_restore_interval": settings.unacked_restore_seconds,
        "unacked_restore_throttle": 1,
        "socket_timeout": 30,
        "socket_connect_timeout": 10,
    }


@dataclass(frozen=True, slots=True)
class ParkedTask:
    task_id: str
    name: str
    args: list[Any]
    kwargs: dict[str, Any]
    crashes: int
    parked_at: str

    def describe(self) -> str:
        call = ", ".join([*map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs.items())])
        return (
            f"{self.task_id} {self.name}({call}) parked after {self.crashes} crashes "
            f"at {self.parked_at}"
        )


class CrashLedger:
    """The crash counters and the parked tasks, in Redis."""

    def __init__(self, url: str, *, max_crashes: int) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.max_crashes = max_crashes

    def begin(self, task_id: str) -> int:
        """Count this delivery; returns how many earlier deliveries died in the body."""
        pipe = self.client.pipeline()
        pipe.incr(CRASH_KEY + task_id)
        pipe.expire(CRASH_KEY + task_id, CRASH_TTL)
        count, _ = pipe.execute()
        return int(count) - 1

    def end(self, task_id: str) -> None:
        self.client.delete(CRASH_KEY + task_id)

    def park(self, task_id: str, name: str, args: Any, kwargs: Any, crashes: int) -> ParkedTask:
        parked = ParkedTask(
            task_id,
            name,
            list(args or ()),
            dict(kwargs or {}),
            crashes,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        pipe = self.client.pipeline()
        pipe.hset(PARKED_KEY, task_id, json.dumps(_as_dict(parked)))
        pipe.delete(CRASH_KEY + task_id)
        pipe.execute()
        return parked

    def parked(self) -> list[ParkedTask]:
        raw = self.client.hgetall(PARKED_KEY)
        out = [ParkedTask(**json.loads(v)) for v in raw.values()]
        return sorted(out, key=lambda p: p.parked_at)

    def unpark(self, task_id: str) -> ParkedTask | None:
        raw = self.client.hget(PARKED_KEY, task_id)
        if raw is None:
            return None
        self.client.hdel(PARKED_KEY, task_id)
        return ParkedTask(**json.loads(raw))

    def close(self) -> None:
        self.client.close()


def _as_dict(parked: ParkedTask) -> dict[str, Any]:
    return {name: getattr(parked, name) for name in ParkedTask.__slots__}


_lock = threading.Lock()
_ledger: tuple[int, CrashLedger] | None = None


def _current_ledger() -> CrashLedger | None:
    """This process's ledger (a forked pool child builds its own), or None without Redis."""
    global _ledger
    from worker.bootstrap import current_settings

    with _lock:
        if _ledger is None or _ledger[0] != os.getpid():
            settings = current_settings()
            if not settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
                return None
            _ledger = (
                os.getpid(),
                CrashLedger(settings.broker_url, max_crashes=settings.max_task_crashes),
            )
        return _ledger[1]


def polled_feeds(name: str, args: list[Any]) -> list[int]:
    """The feeds a poll task polls (``poll_feed(id)`` or ``poll_feeds([ids])``), else []."""
    if not args:
        return []
    if name == "newsmon.poll_feed":
        return [int(args[0])]
    if name == "newsmon.poll_feeds" and isinstance(args[0], list):
        return [int(i) for i in args[0]]
    return []


def on_parked(name: str, args: list[Any]) -> None:
    """Make a parked task visible where admins look: a parked poll pauses its feeds (a
    batch that crashed is split into single feeds first, so this is normally one feed)."""
    feeds = polled_feeds(name, args)
    if not feeds:
        return
    from feeds.usecases.feeds import set_paused
    from worker import bootstrap

    for feed_id in feeds:
        try:
            set_paused(bootstrap.container(celery_worker=True).store, feed_id, True)
        except NewsmonError as exc:
            log.warning("parked poll of feed %s; could not pause the feed: %s", feed_id, exc)


class GuardedTask(Task):  # type: ignore[misc]  # Celery is untyped
    """A task whose deliveries that kill their process are counted and, past a bound, parked."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = str(getattr(self.request, "id", None) or "")
        ledger = None if self.request.is_eager or not task_id else _current_ledger()
        if ledger is None:
            return super().__call__(*args, **kwargs)
        try:
            crashes = ledger.begin(task_id)
        except redis.RedisError:
            # The broker itself is gone: run the task; Celery's own retry handles the rest.
            return super().__call__(*args, **kwargs)
        # What the body may want to know: an earlier delivery died in it (see died_before).
        self.request.newsmon_crashes = crashes
        if crashes >= ledger.max_crashes:
            # Pause first, then list it as parked: whoever sees it parked sees it paused.
            on_parked(self.name, list(args))
            parked = ledger.park(task_id, self.name, args, kwargs, crashes)
            log.error("poison message: %s", parked.describe())
            return None
        try:
            return super().__call__(*args, **kwargs)
        finally:
            try:
                ledger.end(task_id)
            except redis.RedisError as exc:
                log.warning("could not clear the crash counter of %s: %s", task_id, exc)


def died_before(task: Task) -> bool:
    """Whether an earlier delivery of the running task died in its body (counted by the
    guard) or the broker says the message was delivered before (restored after a lost
    worker). Such a run cannot trust that the earlier one finished its hand-offs."""
    request = task.request
    if int(getattr(request, "newsmon_crashes", 0) or 0) > 0:
        return True
    return bool((getattr(request, "delivery_info", None) or {}).get("redelivered"))
