"""Story-grouping variants measured on one recorded bench run (issue 4, worst case).

The quality bench (``bench/stories_quality.py``) runs the whole pipeline; the order in
which the feeds' articles reach grouping depends on concurrent fetches, so two runs of
the same code differ by about +-0.01. To compare rules for joining a story side by side,
this script runs the real pipeline once per seed (same items as the quality bench),
records the articles in the order grouping saw them, and then replays
:func:`feeds.usecases.group.group_one` on that order against an in-memory index, once per
variant. The baseline replay reproduces the recorded run's B-cubed scores exactly.

Variants (tried to stop merges of two events of one protagonist; none is shipped):

``baseline``
    the shipped rules.
``core:K``
    score an article against the sum of the story's first K members (a core that does
    not drift as members join) instead of the whole signature.
``core-gate:K``
    the signature chooses, but a story is a candidate only if the article also reaches
    ``MIN_SIMILARITY`` against the story's first K members.
``cohesion:A``
    a story of two or more members is a candidate only if the article's mean cosine to
    its members is at least A times the members' mean pairwise cosine (average link
    relative to the story's own tightness). The replay keeps every member's vector; a
    shipped version would keep a bounded sample per story.
``secondary:K:R``
    conflict (no candidate) when *each* side has, among its K heaviest names weighing at
    least R times its heaviest, a name that occurs nowhere on the other side (neither
    among its names nor its terms): the opponent, the other club, the other official.
``secondary-protagonist:K:R``
    the same without figures, and only between sides that share their protagonist (one
    side's heaviest name is among the other's two heaviest).
``residual:T``
    the article must also reach cosine T after the terms among *both* sides' three
    heaviest (the shared protagonist) are removed.

Usage::

    .venv/bin/python bench/stories_variants.py --topics 1-10 --spread-days 0 \\
        --variants baseline,core:3,secondary:4:0.5
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import stories_quality as quality  # noqa: E402

import feeds.dedup.stories as stories  # noqa: E402
import feeds.usecases.group as grouping  # noqa: E402
from feeds.dedup.stories import StoryCandidate, StoryChoice  # noqa: E402
from feeds.models import ArticleForGrouping, DuplicateCandidate  # noqa: E402

Vector = Mapping[str, float]


class MemoryIndex:
    """The part of the repository port that grouping uses, in memory, with the same
    orderings and limits as ``storage.repository``."""

    def __init__(self, texts: Mapping[int, str]) -> None:
        self.text = dict(texts)
        self.story_id: dict[int, int] = {}
        self.duplicate_of: dict[int, int | None] = {}
        self.bands: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        self.stories: dict[int, dict[str, Any]] = {}
        self.terms: dict[str, set[int]] = defaultdict(set)

    def lock_story_index(self) -> None:
        pass

    def story_of(self, article_id: int) -> int | None:
        return self.story_id.get(article_id)

    def duplicate_candidates(
        self,
        band_keys: Sequence[int],
        *,
        start: datetime,
        end: datetime,
        limit: int,
        exclude: int,
    ) -> list[DuplicateCandidate]:
        shared: dict[int, int] = defaultdict(int)
        for key in set(band_keys):
            for article_id, when in self.bands.get(key, ()):
                if start <= when <= end and article_id != exclude:
                    shared[article_id] += 1
        best = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [
            DuplicateCandidate(
                id=a,
                text=self.text[a],
                story_id=self.story_id.get(a),
                duplicate_of=self.duplicate_of.get(a),
                shared_bands=n,
            )
            for a, n in best
        ]

    def index_bands(self, article_id: int, band_keys: Sequence[int], when: datetime) -> None:
        for key in dict.fromkeys(band_keys):
            self.bands[key].append((article_id, when))

    def story_candidates(
        self, terms: Sequence[str], *, start: datetime, end: datetime, limit: int
    ) -> list[StoryCandidate]:
        shared: dict[int, int] = defaultdict(int)
        for term in set(terms):
            for story_id in self.terms.get(term, ()):
                if self.stories[story_id]["last"] >= start:
                    shared[story_id] += 1
        best = sorted(shared.items(), key=lambda kv: (-kv[1], -kv[0]))[:limit]
        found = []
        for story_id, _ in sorted(best):
            s = self.stories[story_id]
            if s["first"] <= end:
                found.append(StoryCandidate(story_id, s["first"], s["last"], s["signature"]))
        return found

    def create_story(
        self, when: datetime, signature: dict[str, float], index_terms: Sequence[str]
    ) -> int:
        story_id = len(self.stories) + 1
        self.stories[story_id] = {"first": when, "last": when, "signature": signature, "terms": []}
        self._index(story_id, index_terms)
        return story_id

    def extend_story(
        self,
        story_id: int,
        when: datetime,
        *,
        signature: dict[str, float] | None,
        index_terms: Sequence[str] | None,
    ) -> None:
        s = self.stories[story_id]
        s["first"], s["last"] = min(s["first"], when), max(s["last"], when)
        if signature is not None:
            s["signature"] = signature
        if index_terms is not None:
            self._index(story_id, index_terms)

    def _index(self, story_id: int, terms: Sequence[str]) -> None:
        for term in self.stories[story_id]["terms"]:
            self.terms[term].discard(story_id)
        self.stories[story_id]["terms"] = list(dict.fromkeys(terms))
        for term in self.stories[story_id]["terms"]:
            self.terms[term].add(story_id)

    def assign_story(self, article_id: int, story_id: int, *, duplicate_of: int | None) -> None:
        self.story_id[article_id] = story_id
        self.duplicate_of[article_id] = duplicate_of


class MemoryStore:
    def __init__(self, index: MemoryIndex) -> None:
        self.index = index

    @contextmanager
    def transaction(self) -> Iterator[MemoryIndex]:
        yield self.index


# --- variants --------------------------------------------------------------------------

Members = dict[int, list[dict[str, float]]]  # story id -> member vectors, in joining order
Filter = Callable[[dict[str, float], dict[str, float], StoryCandidate, Members], bool]
Rescore = Callable[[StoryCandidate, Members], StoryCandidate]


def _split(vector: Vector) -> tuple[dict[str, float], dict[str, float]]:
    return stories._split(vector)


def _core(members: list[dict[str, float]], k: int) -> dict[str, float]:
    core: dict[str, float] = {}
    for vector in members[:k]:
        core = stories.merge_signature(core, vector)
    return core


def _distinct(
    names: Vector,
    other_terms: Vector,
    other_names: Vector,
    k: int,
    ratio: float,
    figures: bool,
) -> bool:
    if not names:
        return False
    top = stories._heaviest(names, k)
    bar = names[top[0]] * ratio
    return any(
        names[n] >= bar
        and (figures or not n[1:2].isdigit())
        and n not in other_names
        and n[1:] not in other_terms
        for n in top
    )


def secondary(k: int, ratio: float, protagonist: bool) -> Filter:
    def keep(
        terms: dict[str, float], names: dict[str, float], c: StoryCandidate, members: Members
    ) -> bool:
        story_terms, story_names = _split(c.signature)
        if not names or not story_names:
            return True
        if protagonist:
            mine, theirs = stories._heaviest(names, 2), stories._heaviest(story_names, 2)
            if mine[0] not in theirs and theirs[0] not in mine:
                return True
        figures = not protagonist
        return not (
            _distinct(names, story_terms, story_names, k, ratio, figures)
            and _distinct(story_names, terms, names, k, ratio, figures)
        )

    return keep


def core_gate(k: int) -> Filter:
    def keep(
        terms: dict[str, float], names: dict[str, float], c: StoryCandidate, members: Members
    ) -> bool:
        core = _split(_core(members.get(c.id, []), k))[0]
        return stories.cosine(terms, core) >= stories.MIN_SIMILARITY

    return keep


def cohesion(alpha: float) -> Filter:
    def keep(
        terms: dict[str, float], names: dict[str, float], c: StoryCandidate, members: Members
    ) -> bool:
        vectors = [_split(v)[0] for v in members.get(c.id, [])]
        if len(vectors) < 2:
            return True
        link = sum(stories.cosine(terms, v) for v in vectors) / len(vectors)
        pairs = [
            stories.cosine(vectors[i], vectors[j]) for i in range(len(vectors)) for j in range(i)
        ]
        return link >= alpha * sum(pairs) / len(pairs)

    return keep


def residual(threshold: float) -> Filter:
    def keep(
        terms: dict[str, float], names: dict[str, float], c: StoryCandidate, members: Members
    ) -> bool:
        story_terms = _split(c.signature)[0]
        shared = set(stories._heaviest(terms, 3)) & set(stories._heaviest(story_terms, 3))
        mine = {t: w for t, w in terms.items() if t not in shared}
        theirs = {t: w for t, w in story_terms.items() if t not in shared}
        return stories.cosine(mine, theirs) >= threshold

    return keep


def core_score(k: int) -> Rescore:
    def rescore(c: StoryCandidate, members: Members) -> StoryCandidate:
        return dataclasses.replace(c, signature=_core(members.get(c.id, []), k))

    return rescore


def parse_variant(spec: str) -> tuple[Filter | None, Rescore | None]:
    name, *args = spec.split(":")
    if name == "baseline":
        return None, None
    if name == "core":
        return None, core_score(int(args[0]))
    if name == "core-gate":
        return core_gate(int(args[0])), None
    if name == "cohesion":
        return cohesion(float(args[0])), None
    if name in ("secondary", "secondary-protagonist"):
        return secondary(int(args[0]), float(args[1]), name != "secondary"), None
    if name == "residual":
        return residual(float(args[0])), None
    raise SystemExit(f"error: unknown variant {spec!r}")


# --- record and replay -----------------------------------------------------------------


def record(
    items: list[quality.Item],
) -> tuple[list[ArticleForGrouping], dict[int, str], tuple[float, float, float]]:
    """Run the real pipeline; the articles in the order grouping saw them, the event of
    each article id, and the run's own B-cubed scores."""
    seen: list[ArticleForGrouping] = []
    real = grouping.group_one

    def recording(store: Any, item: ArticleForGrouping) -> Any:
        seen.append(item)
        return real(store, item)

    grouping.group_one = recording  # type: ignore[assignment]
    try:
        stored, key_of = quality.poll(items)
    finally:
        grouping.group_one = real  # type: ignore[assignment]
    gold_of = {it.key: it.gold for it in items}
    gold = {a.id: gold_of[key_of[a.id]] for a in stored}
    scores = quality.bcubed([gold[a.id] for a in stored], [a.story_id for a in stored])
    return seen, gold, scores


def replay(
    order: list[ArticleForGrouping], gold: Mapping[int, str], spec: str
) -> tuple[float, float, float]:
    keep, rescore = parse_variant(spec)
    members: Members = defaultdict(list)
    shipped = stories.choose_story

    def choose(
        vector: dict[str, float], when: datetime, candidates: Sequence[StoryCandidate]
    ) -> StoryChoice:
        terms, names = _split(vector)
        chosen = [c for c in candidates if keep is None or keep(terms, names, c, members)]
        if rescore is not None:
            chosen = [rescore(c, members) for c in chosen]
        return shipped(vector, when, chosen)

    index = MemoryIndex({a.id: a.text for a in order})
    store = MemoryStore(index)
    grouping.choose_story = choose  # type: ignore[assignment]
    try:
        for article in order:
            result = grouping.group_one(store, article)  # type: ignore[arg-type]
            if result is not None:
                members[result.story_id].append(stories.article_vector(article.title, article.text))
    finally:
        grouping.choose_story = shipped  # type: ignore[assignment]
    ids = [a.id for a in order]
    return quality.bcubed([gold[i] for i in ids], [index.story_id[i] for i in ids])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quality.add_corpus_arguments(parser, topics="1-10", spread_days=0.0)
    parser.add_argument("--variants", default="baseline")
    args = parser.parse_args()
    docs = quality.corpus_documents(args)
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        items = quality.make_items(docs, seed, args.copies, args.spread_days, args.burst_hours)
        runs.append(record(items))
    print(
        f"{len(docs)} documents, topics {args.topics}, spread {args.spread_days} days, "
        f"seeds {args.seeds} (recorded once, replayed per variant)"
    )
    print("| variant | B3 P | B3 R | B3 F1 |\n|---|---|---|---|")

    def row(name: str, scores: list[tuple[float, float, float]]) -> None:
        p, r, f = (sum(s[k] for s in scores) / len(scores) for k in range(3))
        print(f"| {name} | {p:.3f} | {r:.3f} | {f:.3f} |", flush=True)

    row("(the recorded pipeline runs)", [recorded for _, _, recorded in runs])
    for spec in args.variants.split(","):
        row(spec, [replay(order, gold, spec) for order, gold, _ in runs])


if __name__ == "__main__":
    main()
