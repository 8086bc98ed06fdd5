"""What the target-sentiment reading budget costs in quality and saves in model reads.

    .venv/bin/python bench/reading_budget.py [--shared ../shared] [--model FOLDER]

Every ECB+ document of the shared development file (real news, 413 articles) and the seed
article is analysed twice with the committed watchlist, discovery on, and the same model:
once with the default budget (``MAX_SENTENCES_PER_ACTOR`` sentences an actor,
``MAX_READS_PER_ARTICLE`` reads an article) and once reading every mention. Reported: the
model reads per article, the share of actor verdicts whose class agrees, the mean absolute
score difference, and the analysis CPU time of each. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feeds.analysis import ArticleAnalyzer, parse_watchlist  # noqa: E402
from feeds.analysis.targeted.onnx_model import OnnxTargetSentiment  # noqa: E402
from feeds.models import Document, MentionSentiment, TargetInSentence  # noqa: E402
from tools.target_sentiment.harvest import detokenise  # noqa: E402

UNLIMITED = (10**9, 10**9)


class Counting:
    """The model, counting the targets it is sent."""

    def __init__(self, model: OnnxTargetSentiment) -> None:
        self.model = model
        self.reads = 0

    def predict(self, targets: list[TargetInSentence]) -> list[MentionSentiment]:
        self.reads += len(targets)
        return self.model.predict(targets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0, help="the first N ECB+ documents only")
    args = parser.parse_args()
    docs = []
    lines = (args.shared / "data/ecbplus/dev.jsonl").read_text().splitlines()
    for line in lines[: args.limit or None]:
        item = json.loads(line)
        title, _, text = detokenise(item["text"]).partition("\n")
        docs.append(Document(item["doc"], title, text))
    title, _, text = (args.shared / "seeds/000_30ea7d5ece656d38.txt").read_text().partition("\n")
    docs.append(Document("seed", title, text))
    actors = parse_watchlist((ROOT / "seeds/actors.toml").read_text())
    model = OnnxTargetSentiment(args.model)
    runs = {}
    for name, budget in (("budget", None), ("every mention", UNLIMITED)):
        counter = Counting(model)
        analyzer = ArticleAnalyzer(
            actors, [], target_model=counter, discover=True, reading_budget=budget
        )
        began = time.process_time()
        results = [analyzer.analyze(d) for d in docs]
        runs[name] = (results, counter.reads, time.process_time() - began)
    (budgeted, reads_b, cpu_b), (full, reads_f, cpu_f) = runs["budget"], runs["every mention"]
    agree = total = 0
    diff = 0.0
    changed = []
    for doc, a, b in zip(docs, budgeted, full, strict=True):
        full_by_name = {x.name: x for x in b.actors}
        for x in a.actors:
            y = full_by_name[x.name]
            total += 1
            agree += x.sentiment == y.sentiment
            diff += abs(x.score - y.score)
            if x.sentiment != y.sentiment:
                changed.append((doc.id, x.name, y.sentiment, x.sentiment))
    report = {
        "documents": len(docs),
        "actor_verdicts": total,
        "reads_per_article": {
            "budget": round(reads_b / len(docs), 2),
            "every_mention": round(reads_f / len(docs), 2),
        },
        "class_agreement": round(agree / total, 4),
        "mean_abs_score_difference": round(diff / total, 4),
        "cpu_seconds": {"budget": round(cpu_b, 1), "every_mention": round(cpu_f, 1)},
        "changed_examples": changed[:10],
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
