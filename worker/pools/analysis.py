"""Analysis spread over worker processes, for the embedded mode's big batches.

Analysis is CPU-bound (the target-sentiment model reads every actor mention) and the
model runs on one thread per process (docs/ACTORS.md: one thread per process is the
setting that stays fast when the machine is busy). A one-process ``reanalyze`` or ``poll``
therefore used one core of however many the machine has. This pool gives the embedded
mode what Celery's ``--concurrency`` gives the distributed one: N processes, each with its
own analyzer, built as a worker builds it (watchlist from the database, IPTC and user
topics).

Principles:

- **Same answers.** A worker process builds its analyzer with the same function as this
  process (:func:`worker.bootstrap.build_analyzer`), and the model's readings do not depend
  on batching (static int8 scales), so the pool's results equal the in-process ones
  (tested).
- **Only where it pays.** Starting a worker costs its imports and a model load (about
  1-2 s of CPU); a batch smaller than ``min_docs`` is analysed here while no worker runs.
  The workers, once started, take every batch (so the calling process never loads the
  models for a small tail) and stay for later ones (``newsmon run``) until :meth:`close`.
- **Never fork a threaded process**, and other rules both pools follow: see
  :mod:`worker.pools.processes`.
- **A dead worker loses nothing.** If a worker dies (killed, out of memory), the batch is
  analysed here instead and the pool is started again on the next batch; nothing is
  saved until the whole batch has its results, so nothing is saved twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

from feeds.models import AnalysisResult, Document
from feeds.ports import Analyzer
from worker.pools.processes import WorkerProcesses, ignore_interrupts, worker_context
from worker.settings import Settings

log = logging.getLogger(__name__)

# Below this many documents a batch is analysed in the calling process: at ~50 ms of CPU
# per article (docs/BENCHMARKS.md), 64 articles are ~3 s of work, about what starting
# two workers costs.
MIN_DOCS = 64
# Pieces per worker and batch: small enough that the workers finish together, large
# enough that pickling and scheduling stay negligible next to the analysis.
CHUNKS_PER_WORKER = 4

_analyzer: Analyzer | None = None  # the worker process's own, built by _start

# Builds a worker's analyzer from the settings; a module-level function, so that it is
# pickled by name and the worker imports its module itself (the composition root's).
AnalyzerBuilder = Callable[[Settings], Analyzer]


def _start(build: AnalyzerBuilder, settings: Settings) -> None:
    global _analyzer
    ignore_interrupts()
    _analyzer = build(settings)


def _analyze(docs: Sequence[Document]) -> list[AnalysisResult]:
    if _analyzer is None:  # _start runs first in every worker
        raise RuntimeError("analysis worker started without its analyzer")
    return _analyzer.analyze_many(docs)


def _ready() -> bool:
    return _analyzer is not None


class ProcessAnalysisPool(WorkerProcesses):
    """Implements :class:`feeds.ports.AnalysisPool` with ``processes`` worker processes."""

    def __init__(
        self,
        settings: Settings,
        processes: int,
        local: Analyzer,
        build: AnalyzerBuilder,
        *,
        min_docs: int = MIN_DOCS,
    ) -> None:
        super().__init__(processes)
        self._settings = settings
        self._build = build
        self._local = local
        self._min_docs = max(1, min_docs)

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalysisResult]:
        if len(docs) < self._min_docs and not self.running:
            # Not worth starting the workers for; once they run (the tail of a long
            # reanalyze, the next tick of `run`), they take every batch.
            return self._local.analyze_many(docs)
        pool = self._pool()
        size = -(-len(docs) // (self.processes * CHUNKS_PER_WORKER))
        chunks = [list(docs[i : i + size]) for i in range(0, len(docs), size)]
        try:
            return [result for chunk in pool.map(_analyze, chunks) for result in chunk]
        except BrokenExecutor:
            # A worker died mid-batch (killed, out of memory): nothing of this batch was
            # saved, so analysing it here loses and repeats nothing.
            log.warning("an analysis worker process died; analysing this batch in-process")
            self.reset()
            return self._local.analyze_many(docs)

    def start_workers(self) -> int:
        """Start the workers and load their models now (not on the first big batch)."""
        pool = self._pool()
        for future in [pool.submit(_ready) for _ in range(self.processes)]:
            future.result()
        return self.processes

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            # the heavy imports (ONNX Runtime, SQLAlchemy) once, in the fork server
            mp_context=worker_context([self._build.__module__]),
            initializer=_start,
            initargs=(self._build, self._settings),
        )
