"""The ingest stage's worker processes: parsing and preparing fetched feeds elsewhere.

A poll pass fetches on threads and writes from one thread (the one writer decides dedup
across feeds); what lies between -- parsing, HTML to text, hashes, canonical URLs
(:func:`feeds.dedup.prepare_feed`) -- is pure and may run in other processes. This module
owns those processes; the pipeline sees only the :class:`feeds.ports.PreparePool` port.
How many pay off depends on the cores (docs/BENCHMARKS.md, decision 35): the default is
none on two CPUs.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from multiprocessing.context import BaseContext

from feeds.dedup import PreparedFeed, prepare_feed
from feeds.errors import ParseError


def worker_context(preload: list[str]) -> BaseContext:
    """The start method for a pool of a process that may run threads: never fork it.

    A fork server imports ``preload`` once and forks clean workers from itself (spawn
    where there is no fork server)."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(preload)
    return ctx


def ignore_interrupts() -> None:
    """Run first in every worker: Ctrl-C reaches the whole process group, and stopping is
    the calling process's decision (it shuts the pool down), not each worker's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessPreparePool:
    """Implements :class:`feeds.ports.PreparePool`; processes start on first use and stay
    for later passes until :meth:`close`."""

    def __init__(self, processes: int) -> None:
        if processes < 2:
            raise ValueError("a pool needs at least two processes; prepare in-process instead")
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None

    def submit(
        self,
        content: bytes,
        *,
        url: str | None,
        content_type: str | None,
        feed_id: int,
        seen_at: datetime,
    ) -> Future[PreparedFeed | ParseError]:
        return self._pool().submit(
            prepare_feed, content, url=url, content_type=content_type, feed_id=feed_id,
            seen_at=seen_at,
        )

    def start_workers(self) -> int:
        pool = self._pool()
        # A short sleep each, so that no process can take two of these while another is
        # still starting.
        for future in [pool.submit(time.sleep, 0.2) for _ in range(self.processes)]:
            future.result()
        return self.processes

    def worker_pids(self) -> list[int]:
        """The workers' process ids (for measuring them); empty before the first start."""
        if self._executor is None:
            return []
        return list(getattr(self._executor, "_processes", {}) or {})

    def reset(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=False)
            self._executor = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # Workers import the main module before their first task; preloading it in
            # the server makes that one import instead of one per worker.
            ctx = worker_context(["__main__", "feeds.dedup"])
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=ctx, initializer=ignore_interrupts
            )
        return self._executor
