"""Per-host politeness: what a "host" is, the in-process limiter, and a polite dispatcher.

**What a host is.** Requests are counted against the URL's host *name*, lower-cased, port
dropped (:func:`host_key`). ``www.example.org`` and ``feeds.example.org`` are different
hosts: publishers often serve them from different machines or CDNs, and keying on the
registrable domain would make one large publisher with many feed hosts crawl slowly for
no reason. Two names for one server are counted separately; that is the price of not
resolving names before deciding (resolution happens at connect time, see
:mod:`feeds.fetch`). A redirect to another host is fetched under the first host's lease.

**The limit.** At most ``max_concurrent`` requests in flight per host and at least
``min_spacing`` seconds between the *starts* of two requests to the same host. Limiters
(the :class:`feeds.ports.HostLimiter` port) never block: a refused caller is told how long
to wait and does something else meanwhile. :class:`LocalHostLimiter` is the in-process
implementation for the embedded mode; the Redis one (``worker.celery.host_limiter``) shares the
counts between every worker of a distributed deployment.

**Never blocked by a slow host.** :func:`run_politely` runs work on a thread pool but
only submits an item once its host granted a lease, so a worker thread never sits waiting
for a busy host while other hosts have work ready. A slow host holds at most
``max_concurrent`` worker threads, each for at most one fetch (bounded by the fetch
deadline).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from feeds.models import HostGrant
from feeds.ports import HostLimiter

__all__ = ["HostBusy", "LocalHostLimiter", "PollBatch", "host_key", "plan_batches", "run_politely"]

T = TypeVar("T")
R = TypeVar("R")

# How long to wait before asking again when a host is at its concurrency limit: a slot
# frees when a request ends, which the dispatcher also notices by itself.
BUSY_RETRY = 0.05


def host_key(url: str) -> str:
    """The host a request to ``url`` is counted against (see the module docstring)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        host = None
    return (host or "").rstrip(".").lower() or "(no host)"


@dataclass
class _HostState:
    active: set[str] = field(default_factory=set)
    next_start: float = 0.0
    booked_until: float = 0.0  # the end of the last reserved slot


class LocalHostLimiter:
    """The in-process :class:`feeds.ports.HostLimiter`; thread-safe."""

    def __init__(
        self,
        max_concurrent: int = 2,
        min_spacing: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if min_spacing < 0:
            raise ValueError("min_spacing must not be negative")
        self.max_concurrent = max_concurrent
        self.min_spacing = min_spacing
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._hosts: dict[str, _HostState] = {}

    def try_acquire(self, host: str) -> HostGrant:
        with self._lock:
            state = self._hosts.setdefault(host, _HostState())
            now = self._monotonic()
            if len(state.active) >= self.max_concurrent:
                return HostGrant(None, max(BUSY_RETRY, state.next_start - now))
            if now < state.next_start:
                return HostGrant(None, state.next_start - now)
            token = uuid.uuid4().hex
            state.active.add(token)
            state.next_start = now + self.min_spacing
            return HostGrant(token)

    def reserve(self, host: str, within: float | None = None) -> float | None:
        with self._lock:
            state = self._hosts.setdefault(host, _HostState())
            now = self._monotonic()
            slot = max(now, state.next_start, state.booked_until)
            if within is not None and slot - now > within:
                return None
            state.booked_until = slot + self.min_spacing
            return slot - now

    def release(self, host: str, token: str) -> None:
        with self._lock:
            state = self._hosts.get(host)
            if state is not None:
                state.active.discard(token)

    def in_flight(self, host: str) -> int:
        with self._lock:
            state = self._hosts.get(host)
            return len(state.active) if state else 0


@dataclass(frozen=True, slots=True)
class HostBusy:
    """The result of an item whose host refused for longer than the caller would wait."""

    wait: float  # seconds until the host may take a request again


@dataclass(frozen=True, slots=True)
class PollBatch:
    """Feeds polled by one queued task, ``delay`` seconds from now."""

    delay: float
    feed_ids: tuple[int, ...]


def plan_batches(
    booked: Sequence[tuple[int, float]], *, size: int, slice_seconds: float = 1.0
) -> list[PollBatch]:
    """Group (feed id, seconds until its host's booked turn) into batches of at most
    ``size`` feeds whose turns fall in the same ``slice_seconds``; each batch is due at its
    earliest turn, so a feed waits at most one slice for its host inside its task.

    Feeds of many hosts due now share a batch (one task, one transaction for the
    unchanged ones); feeds of one busy host, booked ``min_spacing`` apart, land in
    successive slices and so in successive batches, each queued once for its time.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    slices: dict[int, list[tuple[int, float]]] = {}
    for feed_id, delay in booked:
        slices.setdefault(int(max(delay, 0.0) // slice_seconds), []).append((feed_id, delay))
    batches: list[PollBatch] = []
    for key in sorted(slices):
        members = slices[key]
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            batches.append(
                PollBatch(max(0.0, min(d for _, d in chunk)), tuple(i for i, _ in chunk))
            )
    return batches


# What the dispatcher hands the consumer: a finished item, its own failure, or the end.
_Entry = tuple[T, Future[R]] | BaseException | None


def _leased(work: Callable[[T], R], item: T, limiter: HostLimiter, host: str, token: str) -> R:
    try:
        return work(item)
    finally:
        limiter.release(host, token)


def run_politely(
    items: Iterable[T],
    *,
    host_of: Callable[[T], str],
    limiter: HostLimiter,
    work: Callable[[T], R],
    workers: int,
    sleep: Callable[[float], None] = time.sleep,
    defer: tuple[float, Callable[[T, float], R]] | None = None,
) -> Iterator[tuple[T, R]]:
    """Run ``work`` on every item, at most ``workers`` at once, within the host limits.

    ``defer`` = (patience, busy): a host that refuses with a wait longer than ``patience``
    seconds is not waited for; each of its remaining items is yielded with ``busy(item,
    wait)`` as its result instead (a queued Celery poll is then booked for later rather
    than holding its worker).

    Yields ``(item, result)`` on the calling thread as each completes (any order). The
    dispatching runs on a thread of its own, so a slow consumer (ingest writing to the
    database) does not hold back new requests. Hosts are served round-robin, so one host
    with many items does not starve the others. An exception raised by ``work``
    propagates to the caller; the lease is released either way.
    """
    results: queue.SimpleQueue[_Entry[T, R]] = queue.SimpleQueue()
    stop = threading.Event()
    dispatcher = threading.Thread(
        target=_dispatch,
        args=(list(items), host_of, limiter, work, max(1, workers), sleep, results, stop, defer),
        name="fetch-dispatch",
        daemon=True,
    )
    dispatcher.start()
    try:
        while (entry := results.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry  # the dispatcher failed (e.g. the limiter's store is down)
            item, future = entry
            yield item, future.result()
    finally:
        stop.set()  # the consumer stopped early or failed: submit nothing more
        dispatcher.join()


def _dispatch(
    items: list[T],
    host_of: Callable[[T], str],
    limiter: HostLimiter,
    work: Callable[[T], R],
    workers: int,
    sleep: Callable[[float], None],
    results: queue.SimpleQueue[_Entry[T, R]],
    stop: threading.Event,
    defer: tuple[float, Callable[[T, float], R]] | None,
) -> None:
    queues: dict[str, deque[T]] = {}
    for item in items:
        queues.setdefault(host_of(item), deque()).append(item)
    in_flight: dict[Future[R], T] = {}
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            while (queues and not stop.is_set()) or in_flight:
                soonest: float | None = None
                for host in list(queues):
                    if len(in_flight) >= workers or stop.is_set():
                        break
                    grant = limiter.try_acquire(host)
                    if grant.token is None and defer is not None and grant.wait > defer[0]:
                        for item in queues.pop(host):
                            given_up: Future[R] = Future()
                            given_up.set_result(defer[1](item, grant.wait))
                            results.put((item, given_up))
                        continue
                    if grant.token is None:
                        soonest = grant.wait if soonest is None else min(soonest, grant.wait)
                        continue
                    pending = queues[host]
                    item = pending.popleft()
                    if not pending:
                        del queues[host]
                    future = pool.submit(_leased, work, item, limiter, host, grant.token)
                    in_flight[future] = item
                pause = max(soonest if soonest is not None else BUSY_RETRY, 0.005)
                if not in_flight:
                    sleep(pause)
                    continue
                # Wake when something finishes, or when a waiting host may be ready again.
                timeout = None if not queues or len(in_flight) >= workers else pause
                done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    results.put((in_flight.pop(future), future))
    except Exception as exc:  # handed to the consuming thread, which raises it
        results.put(exc)
    finally:
        results.put(None)
