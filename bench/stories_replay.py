"""Replay story grouping on recorded pipeline runs, to compare settings side by side.

The quality bench (``bench/stories_quality.py``) runs the whole pipeline, and the order in
which concurrent fetches hand articles to grouping moves its scores by about +-0.01 from
run to run. This script runs the real pipeline once per seed and setting, records the
articles in the order grouping saw them (cached as JSON under ``--cache``, so later
replays skip the pipeline), and replays the *current* grouping use case
(:func:`feeds.usecases.group.group_one`) on that order against the in-memory index of
``bench/stories_variants.py``. A code change is then measured on exactly the same inputs
as the code before it.

``--set NAME=V1,V2`` sweeps a module constant of ``feeds.dedup.stories``,
``feeds.dedup.events`` or ``feeds.dedup.scorer`` (several ``--set`` give every
combination; a set of letters such as ``CONFLICT_KINDS`` is written as its letters, ``-``
for none; ``LEARNED=1`` decides with the learned scorer). ``--pairs FILE`` appends every
scored (article, candidate story) pair to FILE, the training rows of
``tools/stories/fit_scorer.py``.

Usage::

    .venv/bin/python bench/stories_replay.py --topics 1-10 --spread-days 365 \\
        --event-gaps 1,2,4,10,30 [--set MIN_SIMILARITY=0.25,0.3]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import stories_quality as quality  # noqa: E402
import stories_variants as variants  # noqa: E402

import feeds.dedup.events as events_module  # noqa: E402
import feeds.dedup.scorer as scorer_module  # noqa: E402
import feeds.dedup.stories as stories_module  # noqa: E402
import feeds.usecases.group as grouping  # noqa: E402
from feeds.models import ArticleForGrouping  # noqa: E402

MODULES = (stories_module, events_module, scorer_module)
Recorded = tuple[list[ArticleForGrouping], dict[int, str]]


def _dump(order: list[ArticleForGrouping], gold: dict[int, str]) -> dict[str, Any]:
    return {
        "articles": [
            {
                "id": a.id,
                "title": a.title,
                "text": a.text,
                "published": a.published.isoformat() if a.published else None,
                "first_seen": a.first_seen.isoformat(),
            }
            for a in order
        ],
        "gold": {str(k): v for k, v in gold.items()},
    }


def _load(data: dict[str, Any]) -> Recorded:
    order = [
        ArticleForGrouping(
            id=a["id"],
            title=a["title"],
            text=a["text"],
            published=datetime.fromisoformat(a["published"]) if a["published"] else None,
            first_seen=datetime.fromisoformat(a["first_seen"]),
        )
        for a in data["articles"]
    ]
    return order, {int(k): v for k, v in data["gold"].items()}


def recorded(args: argparse.Namespace, docs: list[dict[str, Any]], seed: int) -> Recorded:
    gaps = quality.parse_gaps(args.event_gaps)
    name = f"t{args.topics}-s{args.spread_days:g}-g{args.event_gaps or 'none'}-seed{seed}.json"
    path = args.cache / name
    if path.exists():
        return _load(json.loads(path.read_text(encoding="utf-8")))
    items = quality.make_items(docs, seed, args.copies, args.spread_days, args.burst_hours, gaps)
    order, gold, _ = variants.record(items)
    args.cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_dump(order, gold)), encoding="utf-8")
    return order, gold


def replay(
    order: list[ArticleForGrouping], gold: dict[int, str], pairs: list[dict[str, Any]] | None = None
) -> tuple[float, float, float]:
    """B-cubed of the current grouping on a recorded order. With ``pairs``, also every
    (article, in-window candidate story) pair grouping scored, as the scorer's features
    and whether the story's events are mostly the article's (what a scorer learns)."""
    index = variants.MemoryIndex({a.id: a.text for a in order})
    # The in-memory index implements only the part of the repository grouping uses.
    store: Any = variants.MemoryStore(index)
    events_of: dict[int, Counter[str]] = defaultdict(Counter)
    current = [0]
    shipped = stories_module.choose_story

    def recording(vector: dict[str, float], when: datetime, candidates: Any) -> Any:
        for candidate in candidates if pairs is not None else ():
            pair = stories_module.pair_evidence(vector, when, candidate)
            if pair is not None:
                majority = events_of[candidate.id].most_common(1)[0][0]
                row = dataclasses.asdict(pair)
                pairs.append({**row, "same": majority == gold[current[0]]})
        return shipped(vector, when, candidates)

    setattr(grouping, "choose_story", recording)  # noqa: B010 -- group.py's own name
    try:
        for article in order:
            current[0] = article.id
            result = grouping.group_one(store, article)
            if result is not None:
                events_of[result.story_id][gold[article.id]] += 1
    finally:
        setattr(grouping, "choose_story", shipped)  # noqa: B010
    ids = [a.id for a in order]
    scores: tuple[float, float, float] = quality.bcubed(
        [gold[i] for i in ids], [index.story_id[i] for i in ids]
    )
    return scores


def _settings(specs: list[str]) -> list[dict[str, str]]:
    axes = []
    for spec in specs:
        name, _, values = spec.partition("=")
        axes.append([(name, v) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)]


def _convert(current: Any, value: str) -> Any:
    # A set of letters is written as the letters ("ma"; "-" for none), a flag as 0 or 1.
    if isinstance(current, frozenset):
        return frozenset(value.strip("-"))
    if isinstance(current, bool):
        return value not in ("0", "false", "off")
    return type(current)(float(value))


def _apply(setting: dict[str, str]) -> dict[tuple[Any, str], Any]:
    saved: dict[tuple[Any, str], Any] = {}
    for name, value in setting.items():
        module = next((m for m in MODULES if hasattr(m, name)), None)
        if module is None:
            raise SystemExit(f"error: no constant {name}")
        saved[(module, name)] = getattr(module, name)
        setattr(module, name, _convert(saved[(module, name)], value))
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quality.add_corpus_arguments(parser, topics="1-10", spread_days=365.0)
    parser.add_argument("--event-gaps", default="")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "stories-replay")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    parser.add_argument(
        "--pairs", type=Path, help="write the scored candidate pairs of each setting (JSONL)"
    )
    parser.add_argument(
        "--scorer", type=Path, help="weights for the learned scorer (fit_scorer.py's JSON)"
    )
    args = parser.parse_args()
    if args.scorer:
        fitted = json.loads(args.scorer.read_text(encoding="utf-8"))
        scorer_module.WEIGHTS = tuple(fitted["weights"])
        scorer_module.BIAS = fitted["bias"]
    docs = quality.corpus_documents(args)
    runs = [recorded(args, docs, int(s)) for s in args.seeds.split(",")]
    print(
        f"{len(docs)} documents, topics {args.topics}, spread {args.spread_days:g} days, "
        f"event gaps {args.event_gaps or 'none'}, seeds {args.seeds} (recorded, replayed)"
    )
    print("| setting | B3 P | B3 R | B3 F1 |\n|---|---|---|---|")
    for setting in _settings(args.sets):
        saved = _apply(setting)
        pairs: list[dict[str, Any]] | None = [] if args.pairs else None
        try:
            scores = [replay(order, gold, pairs) for order, gold in runs]
        finally:
            for (module, name), value in saved.items():
                setattr(module, name, value)
        if pairs is not None:  # only when --pairs was given
            with args.pairs.open("a", encoding="utf-8") as out:
                out.writelines(json.dumps(row) + "\n" for row in pairs)
        p, r, f = (sum(s[k] for s in scores) / len(scores) for k in range(3))
        label = ", ".join(f"{k}={v}" for k, v in setting.items()) or "as shipped"
        print(f"| {label} | {p:.3f} | {r:.3f} | {f:.3f} |", flush=True)


if __name__ == "__main__":
    main()
