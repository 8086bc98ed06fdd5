"""Fit the same-event scorer (``feeds/dedup/scorer.py``) on replayed candidate pairs.

    .venv/bin/python bench/stories_replay.py --topics 1-10 --spread-days 365 \
        --event-gaps 1,2,4,10,30 --pairs build/stories-pairs.jsonl
    .venv/bin/python bench/stories_replay.py --topics 1-10 --spread-days 0 \
        --pairs build/stories-pairs.jsonl
    .venv/bin/python -m tools.stories.fit_scorer build/stories-pairs.jsonl \
        --out build/stories-scorer.json

Each row is one (article, candidate story) pair that grouping scored, with its features
and whether the story's articles are mostly of the article's event. The model is a
logistic regression (Newton's method, a small L2 penalty) whose weights are kept to the
signs the features mean: the term cosine, the name cosine and the agreeing figures may
only raise the score, the hours apart only lower it. A weight that comes out with the
wrong sign is fixed at zero and the rest refitted, so the score is monotone in every
feature. NumPy only: it runs without the ``train`` extra.

Prints the weights (to copy into ``feeds/dedup/scorer.py``) and writes them as JSON for
``bench/stories_replay.py --scorer``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from feeds.dedup.scorer import PairEvidence, features

# +1: may only raise the score; -1: may only lower it (order of scorer.features).
SIGNS = (1, 1, 1, -1)
PENALTY = 1e-3


def load(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            pair = PairEvidence(
                row["terms"], row["names"], row["agree"], row["hours"], row.get("named", True)
            )
            rows.append(features(pair))
            labels.append(1.0 if row["same"] else 0.0)
    return np.array(rows, dtype=np.float64), np.array(labels)


def _newton(x: np.ndarray, y: np.ndarray, free: list[int]) -> np.ndarray:
    """Weights (bias last) of a logistic regression on the ``free`` columns only."""
    design = np.hstack([x[:, free], np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (p - y) + PENALTY * np.r_[w[:-1], 0.0]
        hess = (design * (p * (1 - p))[:, None]).T @ design + PENALTY * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    full = np.zeros(x.shape[1] + 1)
    full[free] = w[:-1]
    full[-1] = w[-1]
    return full


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sign-constrained fit: drop the worst wrong-signed weight and refit until none is."""
    free = list(range(x.shape[1]))
    while True:
        w = _newton(x, y, free)
        wrong = [i for i in free if w[i] * SIGNS[i] < 0]
        if not wrong:
            return w
        free.remove(min(wrong, key=lambda i: w[i] * SIGNS[i]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    x, y = load(args.pairs)
    w = fit(x, y)
    p = 1.0 / (1.0 + np.exp(-(x @ w[:-1] + w[-1])))
    accuracy = float(((p >= 0.5) == (y == 1)).mean())
    result = {
        "weights": [round(float(v), 4) for v in w[:-1]],
        "bias": round(float(w[-1]), 4),
        "pairs": len(y),
        "same_event_share": round(float(y.mean()), 4),
        "training_accuracy": round(accuracy, 4),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
