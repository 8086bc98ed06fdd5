"""The ingest stage's worker processes: parsing and preparing fetched feeds elsewhere.

A poll pass fetches on threads and writes from one thread (the one writer decides dedup
across feeds); what lies between -- parsing, HTML to text, hashes, canonical URLs
(:func:`feeds.dedup.prepare_feed`) -- is pure and may run in other processes. This module
owns those processes; the pipeline sees only the :class:`feeds.ports.PreparePool` port.
How many pay off depends on the cores (docs/BENCHMARKS.md, decision 35): the default is
none on two CPUs.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from feeds.dedup import PreparedFeed, prepare_feed
from feeds.errors import ParseError
from worker.pools.processes import WorkerProcesses, ignore_interrupts, worker_context


class ProcessPreparePool(WorkerProcesses):
    """Implements :class:`feeds.ports.PreparePool`; processes start on first use and stay
    for later passes until :meth:`close`."""

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
            prepare_feed,
            content,
            url=url,
            content_type=content_type,
            feed_id=feed_id,
            seen_at=seen_at,
        )

    def start_workers(self) -> int:
        pool = self._pool()
        # A short sleep each, so that no process can take two of these while another is
        # still starting.
        for future in [pool.submit(time.sleep, 0.2) for _ in range(self.processes)]:
            future.result()
        return self.processes

    def _new_executor(self) -> ProcessPoolExecutor:
        # Workers import the main module before their first task; preloading it in the
        # server makes that one import instead of one per worker.
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=worker_context(["__main__", "feeds.dedup"]),
            initializer=ignore_interrupts,
        )
