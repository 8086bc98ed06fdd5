"""Analysis in worker processes gives exactly what analysis in this process gives.

Real worker processes (fork server), each loading the real models and reading the
watchlist from a real SQLite database, against the analyzer of the calling process.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from feeds.errors import ConfigError
from feeds.models import Document
from tests.support import make_settings
from worker.bootstrap import LazyAnalyzer, build_analyzer_for, build_container
from worker.pools.analysis import ProcessAnalysisPool

SENTENCES = (
    "Russia's brutal invasion was condemned by NATO, while Ukraine's defenders were praised.",
    "The Kremlin said the talks with Ukraine had failed and blamed Washington.",
    "Vladimir Putin met Chinese leaders in Beijing to discuss trade and energy.",
    "The European Union welcomed the ceasefire and promised aid to rebuild Kyiv.",
    "Shares fell after the central bank kept interest rates high to fight inflation.",
    "NATO ministers praised Germany for raising its defence budget.",
)
DOCS = [
    Document(str(i), f"Report {i}", " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(4)))
    for i in range(12)
]


def test_the_pool_answers_as_this_process_does_and_survives_a_killed_worker(
    sqlite_url: str,
) -> None:
    c = build_container(make_settings(sqlite_url, analysis_processes=2))
    local = [c.pipeline.analyzer.analyze(doc) for doc in DOCS]
    assert sum(len(r.actors) for r in local) >= len(DOCS)  # the documents do name actors
    pool = ProcessAnalysisPool(c.settings, 2, c.pipeline.analyzer, build_analyzer_for, min_docs=1)
    try:
        assert pool.analyze_many(DOCS) == local
        first = pool.worker_pids()
        assert len(first) == 2  # the work went to two worker processes

        # A worker killed between batches (out of memory, an operator): the next batch is
        # answered all the same, and the one after it by a fresh pair of workers.
        os.kill(first[0], signal.SIGKILL)
        assert pool.analyze_many(DOCS) == local
        assert pool.analyze_many(DOCS[:5]) == local[:5]
        assert pool.worker_pids() and not set(pool.worker_pids()) & set(first)
    finally:
        pool.close()
        c.close()
    assert pool.worker_pids() == []


def test_small_batches_stay_in_this_process_until_the_workers_run(sqlite_url: str) -> None:
    c = build_container(make_settings(sqlite_url, analysis_processes=2))
    try:
        pool = c.pipeline.analysis_pool
        assert isinstance(pool, ProcessAnalysisPool)
        analyzer = c.pipeline.analyzer
        assert isinstance(analyzer, LazyAnalyzer)
        pool.start_workers()
        # Once the workers run, a small batch (a long run's tail) goes to them too: this
        # process never loads the models.
        small = pool.analyze_many(DOCS[:3])
        assert analyzer._analyzer is None
        pool.close()
        assert pool.analyze_many(DOCS[:3]) == small  # without workers: here, same answers
        assert pool.worker_pids() == []  # below min_docs: no process was started
        assert analyzer._analyzer is not None
    finally:
        c.close()


def test_the_composition_root_gives_celery_workers_and_one_process_setups_no_pool(
    sqlite_url: str,
) -> None:
    for settings, celery_worker in (
        (make_settings(sqlite_url, analysis_processes=1), False),
        (make_settings(sqlite_url, analysis_processes=4), True),  # --concurrency does it
    ):
        c = build_container(settings, celery_worker=celery_worker)
        try:
            assert c.pipeline.analysis_pool is None
        finally:
            c.close()


def test_models_load_on_the_first_analysis_not_with_the_container(sqlite_url: str) -> None:
    c = build_container(make_settings(sqlite_url, analysis_processes=1))
    try:
        analyzer = c.pipeline.analyzer
        assert isinstance(analyzer, LazyAnalyzer)
        assert analyzer._analyzer is None  # a poll that defers analysis never loads them
        assert c.pipeline.analyze_documents(DOCS[:1])[0].actors
        assert analyzer._analyzer is not None
    finally:
        c.close()


def test_a_broken_seed_folder_still_fails_at_start(sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEWSMON_SEEDS_DIR"):
        build_container(make_settings(sqlite_url, seeds_dir=tmp_path / "nowhere"))
