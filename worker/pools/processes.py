"""Worker processes for the embedded mode: how they start, and their life cycle.

Two pools use this (``worker/pools/ingest.py``, ``worker/pools/analysis.py``); the core
sees only their ports. The rules both follow: never fork a process that may run threads
(a fork server, or spawn, starts the workers); workers ignore Ctrl-C, which reaches the
whole process group, because stopping is the calling process's decision; the workers
start on first use and stay until :meth:`WorkerProcesses.close`.
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext


def worker_context(preload: list[str]) -> BaseContext:
    """A fork server that imports ``preload`` once and forks clean workers from itself
    (spawn where there is no fork server)."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(preload)
    return ctx


def ignore_interrupts() -> None:
    """Run first in every worker (see the module's rules)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class WorkerProcesses:
    """A process pool started on first use; subclasses say how (:meth:`_new_executor`)."""

    def __init__(self, processes: int) -> None:
        if processes < 2:
            raise ValueError("a pool needs at least two processes; work in-process instead")
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None

    def worker_pids(self) -> list[int]:
        """The workers' process ids (for measuring them); empty while none runs."""
        if self._executor is None:
            return []
        return list(getattr(self._executor, "_processes", {}) or {})

    def reset(self) -> None:
        """Drop broken workers without waiting; the next use starts new ones."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=False)
            self._executor = None

    def close(self) -> None:
        """Stop the workers, waiting for them."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    @property
    def running(self) -> bool:
        return self._executor is not None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = self._new_executor()
        return self._executor

    def _new_executor(self) -> ProcessPoolExecutor:
        raise NotImplementedError
