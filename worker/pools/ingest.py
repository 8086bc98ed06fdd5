"""The ingest stage's worker processes: parsing and preparing fetched feeds elsewhere.

A poll pass fetches on threads and writes from one thread (the one writer decides dedup
across feeds); what lies between -- parsing, HTML to text, hashes, canonical URLs
(:func:`feeds.dedup.keys.prepare_feed`) -- is pure and may run in other processes. This module
owns those processes; the pipeline sees only the :class:`feeds.ports.PreparePool` port.
How many pay off depends on the cores (docs/BENCHMARKS.md, decisions 35 and 54): the
default is two on two CPUs, started only by a pass with more than ``START_AFTER`` documents
to prepare.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, wait
from typing import TypeVar

from feeds.dedup.keys import PreparedFeed, PrepareJob, prepare_job
from feeds.errors import ParseError
from worker.pools.processes import WorkerProcesses, ignore_interrupts, worker_context

K = TypeVar("K")
Result = tuple[K, PreparedFeed | ParseError, bool]

# Documents queued per worker process at most; beyond that the calling thread prepares
# the next one itself rather than queueing more bodies and waiting idle.
BACKLOG = 4
# Documents a pass prepares in the calling thread before it starts the processes. Their
# start costs about 2 s of CPU (the fork server imports the program once), which a
# first poll of hundreds of feeds repays many times and a cron pass with a few changed
# feeds never would. Processes already running take documents from the first one.
START_AFTER = 8


class ProcessPreparePool(WorkerProcesses):
    """Implements :class:`feeds.ports.PreparePool`; processes start on first use and stay
    for later passes until :meth:`close`.

    What the caller's thread does meanwhile, so it never idles on the processes: with
    ``BACKLOG`` documents per process queued it prepares the next one itself; once the
    jobs run out it takes back queued documents no process has started; when a worker
    dies the rest of the pass is prepared in-process (the next pass starts fresh ones).
    """

    def prepare(self, jobs: Iterable[tuple[K, PrepareJob]]) -> Iterator[Result[K]]:
        pending: dict[Future[PreparedFeed | ParseError], tuple[K, PrepareJob]] = {}
        broken = False
        here_first = 0 if self.running else START_AFTER
        for key, job in jobs:
            queued = False
            if here_first:
                here_first -= 1
            elif not broken and len(pending) < BACKLOG * self.processes:
                try:
                    pending[self._pool().submit(prepare_job, job)] = key, job
                    queued = True
                except (BrokenExecutor, RuntimeError):
                    self._broke()
                    broken = True
            if not queued:
                yield key, prepare_job(job), False
            if (yield from self._finished(pending, block=False)):
                broken = True
        while pending:
            # Nothing else to do here: take a document no process has started yet, else
            # wait for one to finish.
            stolen = self._steal(pending)
            if stolen is not None:
                yield stolen
            else:
                yield from self._finished(pending, block=True)

    def _finished(
        self,
        pending: dict[Future[PreparedFeed | ParseError], tuple[K, PrepareJob]],
        *,
        block: bool,
    ) -> Generator[Result[K], None, bool]:
        """Yield what the processes have finished; returns True if a worker died."""
        broke = False
        if not pending:
            return broke
        done, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            key, job = pending.pop(future)
            try:
                yield key, future.result(), True
            except BrokenExecutor:
                # A worker process died (killed, out of memory): prepare here instead.
                self._broke()
                broke = True
                yield key, prepare_job(job), False
        return broke

    @staticmethod
    def _steal(
        pending: dict[Future[PreparedFeed | ParseError], tuple[K, PrepareJob]],
    ) -> Result[K] | None:
        """Prepare here the last queued document no process has started; None if none."""
        for future in reversed(list(pending)):
            if future.cancel():
                key, job = pending.pop(future)
                return key, prepare_job(job), False
        return None

    def _broke(self) -> None:
        """Drop the broken processes; the pass goes on here, the next one starts anew."""
        self.reset()

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
            mp_context=worker_context(["__main__", "feeds.dedup.keys"]),
            initializer=ignore_interrupts,
        )
