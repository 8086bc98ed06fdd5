"""One newsmon stage timed in-process, the way the CLI runs it (used by bench/run.py).

    python bench/newsmon_stage.py poll|poll-analyze|reanalyze [--profile FILE.html]

Configuration comes from the environment (NEWSMON_*), as for the CLI. Prints one JSON
object. ``--profile`` writes a pyinstrument profile of the stage (needs the bench extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procstat import cpu_seconds, peak_rss_mb  # noqa: E402
from feeds.usecases.analyze import analyze_articles  # noqa: E402
from worker import bootstrap  # noqa: E402


def _pool_cpu(pipeline: Any) -> float:
    """CPU seconds (user + system) of the pipeline's worker processes (ingest and
    analysis) and fork server."""
    pids: list[int] = []
    for pool in (pipeline.ingest_pool, pipeline.analysis_pool):
        if pool is not None:
            pids.extend(pool.worker_pids())
    if pids:
        from multiprocessing import forkserver

        server = getattr(forkserver._forkserver, "_forkserver_pid", None)
        if server:
            pids.append(server)
    return cpu_seconds(pids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["poll", "poll-analyze", "reanalyze"])
    ap.add_argument("--profile", type=Path)
    args = ap.parse_args()
    c = bootstrap.container()
    pipeline = c.pipeline
    if args.stage == "reanalyze":
        # Load the models before the clock starts, as a long-running worker has them.
        from feeds.models import Document

        if pipeline.analysis_pool is not None:
            pipeline.analysis_pool.start_workers()  # their models; this process needs none
        else:
            pipeline.analyzer.analyze(Document("0", "warm up", "NATO met in Brussels."))
        warm_up_cpu = _pool_cpu(pipeline)
    if args.stage != "reanalyze":
        # Worker processes started before the clock, as in a long-running `newsmon run`
        # (their start-up is imports, like the process's own, excluded for every program).
        started = time.perf_counter()
        start_cpu = _pool_cpu(pipeline)
        pipeline.start_workers()
        warm_up = {"workers_start_seconds": time.perf_counter() - started}
        warm_up_cpu = _pool_cpu(pipeline) - start_cpu
    profiler: Any = None
    ctx: AbstractContextManager[Any] = nullcontext()
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        ctx = profiler
    out: dict[str, Any] = {}
    with ctx:
        started = time.perf_counter()
        cpu_started = time.process_time()
        if args.stage == "reanalyze":
            with c.store.transaction() as repo:
                ids = repo.article_ids(pending=True)
            out["articles"] = analyze_articles(
                c.store, pipeline.analyze_documents, pipeline.clock, ids
            )
            pool = pipeline.analysis_pool
            out["processes"] = pool.processes if pool is not None else 1
            out["worker_rss_mb"] = [
                peak_rss_mb(pid) for pid in (pool.worker_pids() if pool is not None else [])
            ]
        else:
            report = pipeline.poll_pass(pipeline.sources(), analyze=args.stage == "poll-analyze")
            out.update(
                ok=report.count("ok"),
                not_modified=report.count("not_modified"),
                failed=report.count("failed"),
                new=report.new_articles,
                analysed=report.analyzed,
                offloaded=report.offloaded,
                processes=pipeline.ingest_processes,
                errors=[r.error for r in report.feeds if r.error][:3],
            )
        out["seconds"] = time.perf_counter() - started
        # CPU of the whole process (every thread): steadier than wall time on a shared host.
        out["cpu_seconds"] = time.process_time() - cpu_started
        # ...plus the worker processes' and their fork server's (started before the clock).
        out["worker_cpu_seconds"] = _pool_cpu(pipeline) - warm_up_cpu
        out["total_cpu_seconds"] = out["cpu_seconds"] + out["worker_cpu_seconds"]
        if args.stage != "reanalyze":
            out.update(warm_up, workers_start_cpu_seconds=warm_up_cpu)
    if profiler is not None:
        args.profile.write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
