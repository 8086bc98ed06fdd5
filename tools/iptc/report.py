"""Confusion and per-section tables for the shipped IPTC classifier (offline).

    python -m tools.iptc.report [--model DIR]

Prints, for the sets no training run has seen:

* per HuffPost section of the tune split (a fifth of the mapped sections, held out of
  training; its labels are the section's, so weak): how often the best topic is the
  section's topic, and what it is taken for otherwise;
* a confusion matrix of the best topic against the annotator's on the hand-labelled
  held-out sets (HuffPost final and holdout2, ECB+ topics 11-20), an answer counting as
  right when it is any acceptable code.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from feeds.analysis.iptc import MODEL_DIR, IptcClassifier
from tools.iptc import datasets
from tools.iptc.datasets import Example

SHORT = {
    "01": "arts",
    "02": "crime",
    "03": "disaster",
    "04": "economy",
    "05": "education",
    "06": "environ.",
    "07": "health",
    "08": "human int.",
    "09": "labour",
    "10": "lifestyle",
    "11": "politics",
    "12": "religion",
    "13": "sci/tech",
    "14": "society",
    "15": "sport",
    "16": "conflict",
    "17": "weather",
}


def short(code: str) -> str:
    return SHORT[code.removeprefix("medtop:")[:2]]


def best(model: IptcClassifier, e: Example) -> str:
    return model.codes[int(np.argmax(model.probabilities(model.features(e.title, e.text))))]


def sections(model: IptcClassifier) -> None:
    rows = datasets.huffpost_rows()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for line in datasets.huffpost_tune_lines():
        row = rows[line]
        gold = f"medtop:{datasets.SECTION_TO_IPTC[row['category']]}"
        got = best(model, Example(row["headline"], row["short_description"], (), ""))
        tally[row["category"]][short(got) if got != gold else "right"] += 1
    print("| HuffPost section (tune split) | n | right | most often taken for |")
    print("|---|---|---|---|")
    for name, counts in sorted(tally.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counts.values())
        wrong = ", ".join(f"{k} {v}" for k, v in counts.most_common() if k != "right")
        print(f"| {name} | {n} | {counts['right'] / n:.2f} | {wrong[:60]} |")


def confusion(model: IptcClassifier) -> None:
    held_out = (
        datasets.huffpost_news_test("huffpost_news_final.tsv")
        + datasets.huffpost_news_test("huffpost_news_holdout2.tsv")
        + datasets.ecbplus_split()[1]
    )
    pairs = []
    for e in held_out:
        got = best(model, e)
        pairs.append((got if got in e.labels else e.labels[0], got))
    classes = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    print(f"\nrows: annotator's topic; columns: the model's best; n = {len(pairs)}\n")
    print("| | " + " | ".join(short(c) for c in classes) + " |")
    print("|---" * (len(classes) + 1) + "|")
    for g in classes:
        cells = [str(sum(1 for a, b in pairs if a == g and b == p) or "") for p in classes]
        print(f"| **{short(g)}** | " + " | ".join(cells) + " |")
    right = sum(a == b for a, b in pairs)
    print(f"\ntop-1 {right / len(pairs):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    args = parser.parse_args()
    model = IptcClassifier.load(args.model)
    sections(model)
    confusion(model)


if __name__ == "__main__":
    main()
