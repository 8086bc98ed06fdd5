"""Benchmark sentiment toward actors: quality, speed and memory, on the project's code paths.

    .venv/bin/python bench/actor_sentiment.py [--shared ../shared] [--workers 2]

* **Quality**: the held-out tenth of the NewsMTSC training file (the split the training
  script made: articles whose hash falls in the first tenth) is fed through ``newsmon
  analyze`` as a subprocess, one document per sentence with its ``targets``; F1m and
  accuracy are computed from the returned ``targets``, on all of them and on the harder
  multi-actor subsets: sentences with two or more targets, and sentences whose targets
  differ in gold polarity.
* **Seed article**: the verdicts toward Russia, Vladimir Putin and Ukraine.
* **Speed**: ``--workers`` processes, each with the container a worker builds
  (:func:`worker.bootstrap.build_container`, one ONNX thread per process), score the
  held-out targets with ``target_sentiment`` and analyse the seed article and the demo
  feeds' items with ``analyze``; reported as targets (mentions) per second over all
  processes, wall clock.
  Wall-clock rates depend on what else runs on the machine, so the rate per CPU-second
  of each worker is reported too.
* **Memory**: peak RSS (VmHWM) of each such worker process after the work.

Prints a JSON report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import peak_rss_mb  # noqa: E402

LABELS = {2.0: "negative", 4.0: "neutral", 6.0: "positive"}


def held_out_rows(train_file: Path) -> list[dict[str, Any]]:
    """The training script's held-out split, one row per sentence with its gold targets."""
    rows = []
    for line in train_file.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        targets = []
        for t in item["targets"]:
            article = "_".join(t["Input.gid"].split("_")[:3])
            if hashlib.sha256(article.encode()).digest()[0] % 10 < 1:
                targets.append({"from": t["from"], "to": t["to"], "gold": LABELS[t["polarity"]]})
        if targets:
            rows.append({"text": item["sentence_normalized"], "targets": targets})
    return rows


def f1_report(gold: list[str], pred: list[str]) -> dict[str, Any]:
    per = {}
    for c in ("negative", "neutral", "positive"):
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        per[c] = round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    return {
        "f1_macro": round(sum(per.values()) / 3, 4),
        "accuracy": round(acc, 4),
        "f1_per_class": per,
        "targets": len(gold),
    }


def quality(rows: list[dict[str, Any]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        with src.open("w", encoding="utf-8") as out:
            for n, row in enumerate(rows):
                targets = [{"from": t["from"], "to": t["to"]} for t in row["targets"]]
                doc = {"id": n, "title": "", "text": row["text"], "targets": targets}
                out.write(json.dumps(doc) + "\n")
        began = time.perf_counter()
        done = subprocess.run(
            [str(ROOT / ".venv/bin/newsmon"), "analyze", "--input", str(src)],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - began
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return {**scored_subsets(rows, results), "cli_seconds": round(seconds, 1)}


# the multi-target subsets: a held-out sentence (row) belongs to a subset if ...
SUBSETS: dict[str, Any] = {
    "sentences_with_2_or_more_targets": lambda row: len(row["targets"]) > 1,
    "sentences_with_differing_polarities": lambda row: len({t["gold"] for t in row["targets"]}) > 1,
}


def scored_subsets(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """F1 of `analyze`'s readings against the gold labels: all targets, and the two
    multi-target subsets (2+ targets; targets of differing gold polarity)."""
    pairs = [
        (t["gold"], p["sentiment"], row)
        for row, r in zip(rows, results, strict=True)
        for t, p in zip(row["targets"], r["targets"], strict=True)
    ]

    def subset(keep: Any) -> dict[str, Any]:
        picked = [(g, p) for g, p, row in pairs if keep(row)]
        return f1_report([g for g, _ in picked], [p for _, p in picked])

    return {
        **subset(lambda row: True),
        **{name: subset(keep) for name, keep in SUBSETS.items()},
    }


def worker_main(shared: Path, part: int, parts: int, database: Path) -> dict[str, Any]:
    """One worker process: build the container, then time its share of the work."""
    from feeds.models import Document, TargetSpan
    from worker import bootstrap
    from worker.settings import load_settings

    rows = held_out_rows(shared / "data/newsmtsc/train.jsonl")[part::parts]
    docs = demo_documents(shared / "seeds/000_30ea7d5ece656d38.txt")
    # the whole container a worker process builds (database, fetcher, analyzer), so the
    # memory figure is a worker's, not just the model's
    container = bootstrap.build_container(load_settings(database_url=f"sqlite:///{database}"))
    analyzer = container.pipeline.analyzer
    began, cpu_began = time.time(), time.process_time()
    targets = 0
    for row in rows:
        spans = [TargetSpan(t["from"], t["to"]) for t in row["targets"]]
        targets += len(analyzer.target_sentiment(row["text"], spans))
    mentions = 0
    for n, (title, text) in enumerate(docs):
        result = analyzer.analyze(Document(str(n), title, text))
        mentions += sum(a.mentions for a in result.actors)
    ended, cpu = time.time(), time.process_time() - cpu_began
    peak_mb = peak_rss_mb()
    return {
        "targets": targets + mentions,
        "began": began,
        "ended": ended,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak_mb,
    }


def demo_documents(seed_article: Path) -> list[tuple[str, str]]:
    import feedparser

    docs = []
    for feed in sorted((ROOT / "seeds/demo").glob("*.xml")):
        for entry in feedparser.parse(feed.read_bytes()).entries:
            docs.append((entry.get("title", ""), entry.get("summary", "")))
    title, _, text = seed_article.read_text(encoding="utf-8").partition("\n")
    docs.append((title, text))
    return docs


def speed(shared: Path, workers: int) -> dict[str, Any]:
    """``workers`` processes started together; throughput over the span of their work."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--shared",
                    str(shared),
                    "--worker",
                    f"{k}/{workers}",
                    "--database",
                    str(Path(tmp) / f"w{k}.db"),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for k in range(workers)
        ]
        results = [json.loads(p.communicate()[0]) for p in procs]
    span = max(r["ended"] for r in results) - min(r["began"] for r in results)
    total = sum(r["targets"] for r in results)
    per_cpu = [r["targets"] / r["cpu_seconds"] for r in results]
    return {
        "workers": workers,
        "targets_scored": total,
        "wall_seconds": round(span, 2),
        "targets_per_second": round(total / span, 1),
        # robust to other load on the machine: per CPU-second of one worker process
        "targets_per_cpu_second_per_worker": [round(r, 1) for r in per_cpu],
        # what the workers would do with a core each to themselves (an estimate: a busy
        # machine also slows each CPU-second through shared caches)
        "targets_per_second_if_each_worker_had_a_core": round(sum(per_cpu), 1),
        "peak_rss_mb_per_worker": [round(r["peak_rss_mb"], 1) for r in results],
    }


def seed_verdicts(seed_article: Path) -> dict[str, Any]:
    from feeds.models import Document
    from worker import bootstrap
    from worker.settings import load_settings

    title, _, text = seed_article.read_text(encoding="utf-8").partition("\n")
    result = bootstrap.load_analyzer(load_settings()).analyze(Document("seed", title, text))
    return {
        a.name: {"sentiment": a.sentiment, "score": a.score, "mentions": a.mentions}
        | ({} if a.watched else {"watched": False})
        for a in result.actors
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: "K/N"
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        part, parts = (int(x) for x in args.worker.split("/"))
        print(json.dumps(worker_main(args.shared, part, parts, args.database)))
        return 0
    rows = held_out_rows(args.shared / "data/newsmtsc/train.jsonl")
    seed = args.shared / "seeds/000_30ea7d5ece656d38.txt"
    report: dict[str, Any] = {"load_average_before": os.getloadavg()}
    report |= {
        "held_out_through_newsmon_analyze": quality(rows),
        "seed_article": seed_verdicts(seed),
        "speed_memory": speed(args.shared, args.workers),
    }
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
