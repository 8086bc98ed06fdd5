"""Compare target-sentiment model files on the held-out split, as ``newsmon analyze`` reads it.

    .venv/bin/python bench/target_model_compare.py [--shared ../shared] \
        --model feeds/analysis/targeted/model --model old/:unmarked [--rounds 4]

Each ``--model`` is a folder with ``model.onnx`` and ``tokenizer.json``; a ``:unmarked``
suffix feeds it without the other targets marked (a model trained before they were).
For each model: F1m and accuracy over the held-out split of the training file (the
training script's split) through :func:`worker.admin.analyze_stream`, the ``analyze``
command's code path, on all targets and the multi-target subsets (as
``bench/actor_sentiment.py``); the seed article's verdicts; and the model alone, CPU ms
per target over the held-out targets as ``analyze`` sends them, the models interleaved
for ``--rounds`` passes (alternating order). Prints a JSON report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from actor_sentiment import held_out_rows, scored_subsets  # noqa: E402

from feeds.analysis import LexiconAnalyzer  # noqa: E402
from feeds.analysis.actor_list import merge_watchlist  # noqa: E402
from feeds.analysis.sentences import split_sentences  # noqa: E402
from feeds.analysis.targeted.actors import targets_in_sentences  # noqa: E402
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
    folder, _, mode = spec.partition(":")
    model = OnnxTargetSentiment(Path(folder))
    return Unmarked(model) if mode == "unmarked" else model


def quality(analyzer: LexiconAnalyzer, rows: list[dict[str, Any]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with src.open("w", encoding="utf-8") as f:
            for n, row in enumerate(rows):
                targets = [{"from": t["from"], "to": t["to"]} for t in row["targets"]]
                f.write(json.dumps({"id": n, "text": row["text"], "targets": targets}) + "\n")
        analyze_stream(analyzer, str(src), str(out))
        results = [json.loads(line) for line in out.read_text().splitlines()]
    return scored_subsets(rows, results)


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
    for spec, model in models.items():
        analyzer = LexiconAnalyzer(actors, (), target_model=model, discover=True)
        seed = analyzer.analyze(Document("seed", title, text))
        report[spec] = {
            "held_out_through_analyze": quality(analyzer, rows),
            "seed_article": {a.name: [a.sentiment, a.score, a.mentions] for a in seed.actors},
            "cpu_ms_per_target": [],
        }
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
