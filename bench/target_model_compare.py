"""Compare target-sentiment model files on the held-out split, as ``newsmon analyze`` reads it.

    .venv/bin/python bench/target_model_compare.py [--shared ../shared] \
        --model feeds/analysis/targeted/model --model old/:unmarked [--rounds 4]

Each ``--model`` is a folder with ``model.onnx`` and ``tokenizer.json``; a ``:unmarked``
suffix feeds it without the other targets marked (a model trained before they were).
For each model: F1m and accuracy over the held-out split of the training file (the
training script's split) through :func:`worker.admin.analyze_stream`, the ``analyze``
command's code path, on all targets and the multi-target subsets (as
``bench/actor_sentiment.py``), with bootstrap intervals (resampling sentences) for each
model and, paired, for each model's difference to the first one; the seed article's
verdicts; and the model alone, CPU ms
per target over the held-out targets as ``analyze`` sends them, the models interleaved
for ``--rounds`` passes (alternating order). Prints a JSON report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from actor_sentiment import SUBSETS, f1_report, held_out_rows, scored_subsets  # noqa: E402

from feeds.analysis import ArticleAnalyzer  # noqa: E402
from feeds.analysis.actor_list import merge_watchlist  # noqa: E402
from feeds.analysis.sentences import split_sentences  # noqa: E402
from feeds.analysis.targeted.actors import targets_in_sentences  # noqa: E402
from feeds.analysis.targeted.cascade import CascadeTargetSentiment  # noqa: E402
from feeds.analysis.targeted.onnx_model import OnnxTargetSentiment  # noqa: E402
from feeds.models import Document, MentionSentiment, TargetInSentence  # noqa: E402
from feeds.ports import TargetSentimentModel  # noqa: E402
from worker.admin import analyze_stream  # noqa: E402
from worker.bootstrap import seed_actors  # noqa: E402
from worker.settings import REPO_ROOT, load_settings  # noqa: E402


class Unmarked:
    """A model fed without the other targets marked."""

    def __init__(self, model: TargetSentimentModel) -> None:
        self._model = model

    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        return self._model.predict([dataclasses.replace(t, others=()) for t in targets])


def load_model(spec: str) -> TargetSentimentModel:
    """``folder``, ``folder:unmarked``, ``folder:batch1`` (one target a run, for a model
    with dynamic activation scales), ``cascade:SMALL,LARGE[,T]`` (the large one, read one
    target a run, for sentences with several targets, and with ``T`` also where the small
    one's top probability is below T) or ``unsure:SMALL,LARGE,T`` (only the latter rule)."""
    kind, _, rest = spec.partition(":")
    if kind in ("cascade", "unsure"):
        small, large, *threshold = rest.split(",")
        return CascadeTargetSentiment(
            OnnxTargetSentiment(Path(small)),
            OnnxTargetSentiment(Path(large), batch=1),
            several_actors=kind == "cascade",
            unsure_below=float(threshold[0]) if threshold else None,
        )
    folder, _, mode = spec.partition(":")
    model = OnnxTargetSentiment(Path(folder), batch=1 if mode == "batch1" else 8)
    return Unmarked(model) if mode == "unmarked" else model


def readings(analyzer: ArticleAnalyzer, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``analyze``'s output lines for the held-out sentences."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with src.open("w", encoding="utf-8") as f:
            for n, row in enumerate(rows):
                targets = [{"from": t["from"], "to": t["to"]} for t in row["targets"]]
                f.write(json.dumps({"id": n, "text": row["text"], "targets": targets}) + "\n")
        analyze_stream(analyzer, str(src), str(out))
        return [json.loads(line) for line in out.read_text().splitlines()]


def bootstrap(
    rows: list[dict[str, Any]],
    results: list[dict[str, Any]],
    base: list[dict[str, Any]] | None = None,
    resamples: int = 2000,
) -> dict[str, Any]:
    """How sure an F1m is: the held-out sentences are resampled with replacement (a sentence
    keeps all its targets) and scored on each resample; the 5th and 95th percentile per
    subset. With ``base`` (another model's readings of the same sentences), the same for
    the difference ``results`` − ``base``, paired on each resample, and the share of
    resamples where ``results`` is ahead. One reading moves the 66-target subset's F1m by
    0.01-0.02, so a point value alone says little."""
    rng = random.Random(0)
    subsets = {"all": lambda row: True, **SUBSETS}
    members = {
        name: [i for i, row in enumerate(rows) if keep(row)] for name, keep in subsets.items()
    }

    def f1m(readings: list[dict[str, Any]], picked: list[int]) -> float:
        gold = [t["gold"] for i in picked for t in rows[i]["targets"]]
        pred = [p["sentiment"] for i in picked for p in readings[i]["targets"]]
        return float(f1_report(gold, pred)["f1_macro"])

    def value(picked: list[int]) -> float:
        return f1m(results, picked) - (f1m(base, picked) if base is not None else 0.0)

    report: dict[str, Any] = {}
    for name, pool in members.items():
        values = sorted(
            value(picked) for picked in ([rng.choice(pool) for _ in pool] for _ in range(resamples))
        )
        cut = len(values) // 20
        report[name] = {
            "value": round(value(pool), 4),
            "interval_90": [round(values[cut], 4), round(values[-cut - 1], 4)],
        }
        if base is not None:
            report[name]["share_ahead"] = round(sum(v > 0 for v in values) / len(values), 3)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--model", action="append", required=True, help="folder[:unmarked]")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    settings = load_settings(seeds_dir=REPO_ROOT / "seeds")
    actors = merge_watchlist(seed_actors(settings), ())
    rows = held_out_rows(args.shared / "data/newsmtsc/train.jsonl")
    title, _, text = (
        (args.shared / "seeds/000_30ea7d5ece656d38.txt").read_text(encoding="utf-8").partition("\n")
    )
    models = {spec: load_model(spec) for spec in args.model}
    report: dict[str, Any] = {}
    results: dict[str, list[dict[str, Any]]] = {}
    for spec, model in models.items():
        analyzer = ArticleAnalyzer(actors, (), target_model=model, discover=True)
        results[spec] = readings(analyzer, rows)
        seed = analyzer.analyze(Document("seed", title, text))
        report[spec] = {
            "held_out_through_analyze": scored_subsets(rows, results[spec]),
            "f1m_interval": bootstrap(rows, results[spec]),
            "seed_article": {a.name: [a.sentiment, a.score, a.mentions] for a in seed.actors},
            "cpu_ms_per_target": [],
        }
    first = args.model[0]
    for spec in args.model[1:]:
        report[spec]["against_first_model"] = bootstrap(rows, results[spec], results[first])
    # the model alone: the requests analyze builds for each held-out sentence
    calls = []
    for row in rows:
        spans = [(t["from"], t["to"]) for t in row["targets"]]
        cut = targets_in_sentences(row["text"], split_sentences(row["text"]), spans)
        calls.append([request for _, request in cut])
    count = sum(len(c) for c in calls)
    for k in range(args.rounds):
        for spec in args.model if k % 2 == 0 else args.model[::-1]:
            began = time.process_time()
            for call in calls:
                models[spec].predict(call)
            ms = 1000 * (time.process_time() - began) / count
            report[spec]["cpu_ms_per_target"].append(round(ms, 3))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
