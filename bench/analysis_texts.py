"""Analysis throughput on real news text, next to the generated corpus's, in one run.

    .venv/bin/python bench/analysis_texts.py [--shared ../shared] [--processes 1,2]

The main benchmark (``bench/run.py``) analyses generated articles: long, and dense with
watchlist actors (a third of their sentences name two), which makes them the costly end
for the target-sentiment model that reads every mention. This script measures the same
code path (``Pipeline.analyze_documents``, the one ``reanalyze`` and ``poll`` use, models
loaded before the clock, as in a running worker) on two sets, each with one analysis
process and with worker processes (``NEWSMON_ANALYSIS_PROCESSES``), alternated:

* ``ecbplus``: the 413 real news articles of ``data/ecbplus/dev.jsonl`` in the shared
  directory (its tokenised spacing undone);
* ``generated``: 413 articles of ``bench/corpus.py``.

Prints one JSON object: articles/s (wall), articles per CPU-second (the calling process
and its workers), mentions read by the model per article.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402

from bench.procstat import cpu_seconds  # noqa: E402
from feeds.models import Document  # noqa: E402
from worker.bootstrap import build_container  # noqa: E402
from worker.settings import load_settings  # noqa: E402


def ecbplus_docs(shared: Path) -> list[Document]:
    path = shared / "data" / "ecbplus" / "dev.jsonl"
    if not path.is_file():
        raise SystemExit(f"external data absent: {path} not found (pass --shared)")
    docs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        text = json.loads(line)["text"]
        text = re.sub(r" ([,.;:!?')])", r"\1", text).replace("( ", "(")
        title, _, body = text.partition("\n")
        docs.append(Document(str(n), title, body))
    return docs


def generated_docs(count: int) -> list[Document]:
    rng = random.Random(5)
    docs = []
    for n in range(count):
        story = corpus._story(rng, f"https://outlet.example/{n}", datetime.now(UTC), False)
        text = re.sub(r"<[^>]+>", "\n", story.content)
        docs.append(Document(str(n), story.title, text))
    return docs


def measure(database: str, processes: int, docs: list[Document]) -> dict[str, Any]:
    settings = load_settings(
        database_url=database, analysis_processes=processes, seeds_dir=ROOT / "seeds"
    )
    c = build_container(settings)
    pipeline = c.pipeline
    try:
        pipeline.analyzer.analyze(Document("0", "warm up", "NATO met in Brussels."))
        pool = pipeline.analysis_pool
        pids: list[int] = []
        if pool is not None:
            pool.start_workers()
            pids = pool.worker_pids()  # type: ignore[attr-defined]
        began, cpu, workers_cpu = time.perf_counter(), time.process_time(), cpu_seconds(pids)
        results = pipeline.analyze_documents(docs)
        wall = time.perf_counter() - began
        used = time.process_time() - cpu + cpu_seconds(pids) - workers_cpu
    finally:
        c.close()
    mentions = sum(a.mentions for r in results for a in r.actors)
    return {
        "processes": processes,
        "articles": len(docs),
        "seconds": round(wall, 2),
        "articles_per_s": round(len(docs) / wall, 1),
        "articles_per_cpu_s": round(len(docs) / used, 1),
        "mentions_per_article": round(mentions / len(docs), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("NEWSMON_SHARED_DIR", ROOT.parent / "shared")),
    )
    ap.add_argument("--processes", default="1,2", help="analysis processes to compare")
    args = ap.parse_args()
    sets = {"ecbplus": ecbplus_docs(args.shared)}
    sets["generated"] = generated_docs(len(sets["ecbplus"]))
    out: dict[str, Any] = {"machine": f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"}
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{Path(tmp) / 'analysis.db'}"
        for name, docs in sets.items():
            out[name] = [measure(database, int(p), docs) for p in args.processes.split(",")]
    out["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
