"""Collect unlabelled target mentions for the teacher to label (step 2 of distillation).

The gold set has 8.7k targets. A student learns the teacher's judgement better from many
more mentions, of the kinds it meets at run time. This tool finds them in the news text
we may train on, with the run-time matcher (the seed watchlist) and discovery, cut to
their sentence with the sentence's other actors as ``others`` — exactly the requests the
analyzer sends its model:

* HuffPost 10k: headline and short description;
* ECB+ topics 1–20 (light detokenising of its space-joined tokens);
* the demo corpus in ``seeds/demo/``;
* NewsMTSC training sentences (never the held-out tenth): actor mentions that are not
  gold targets, and copies of gold targets with the name swapped for another training
  name (``data.swap_names``), so the student sees context, not names.

Output: JSON Lines ``{"source", "sentence", "start", "end", "others"}``, deduplicated::

    python -m tools.target_sentiment.harvest --out build/teacher/mentions.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import feedparser

from feeds.analysis.sentences import split_sentences
from feeds.analysis.targeted.actors import targets_in_sentences, watched_and_discovered
from feeds.analysis.watchlist import ActorMatcher, parse_watchlist
from tools.target_sentiment import data

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
_MAX_SENTENCE = 400  # characters; longer "sentences" are tables or run-ons


def detokenise(text: str) -> str:
    text = re.sub(r" ([,.;:!?%)])", r"\1", text)
    text = re.sub(r"\( ", "(", text)
    text = re.sub(r" (['’](?:s|re|ve|ll|d|m)|n't)\b", r"\1", text)
    return text.replace("`` ", "“").replace(" ''", "”")


def huffpost(path: Path) -> Iterator[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        yield f"{item['headline']}\n\n{item['short_description']}"


def ecbplus(path: Path) -> Iterator[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        yield detokenise(json.loads(line)["text"])


def demo(folder: Path) -> Iterator[str]:
    for feed in sorted(folder.glob("*.xml")):
        for entry in feedparser.parse(feed.read_bytes()).entries:
            body = re.sub(r"<[^>]+>", " ", entry.get("summary", ""))
            yield f"{entry.get('title', '')}\n\n{body}"


class Finder:
    """Mentions the analyzer would read: watchlist matches, then discovered actors."""

    def __init__(self, watchlist: Path) -> None:
        actors = parse_watchlist(watchlist.read_text(encoding="utf-8"))
        self.matcher = ActorMatcher(actors)
        self.known = tuple(n for a in actors for n in (a.name, *a.aliases))

    def requests(self, text: str) -> Iterator[tuple[str, int, int, list[tuple[int, int]]]]:
        sentences = split_sentences(text)
        found = [(m.actor.name, m.actor.type, m.start, m.end) for m in self.matcher.find(text)]
        actors = watched_and_discovered(text, found, self.known, discover=True)
        spans = [span for actor in actors for span in actor.spans]
        owners = [i for i, actor in enumerate(actors) for _ in actor.spans]
        for _, r in targets_in_sentences(text, sentences, spans, owners):
            if len(r.sentence) <= _MAX_SENTENCE:
                yield r.sentence, r.start, r.end, [list(o) for o in r.others]


def newsmtsc(
    path: Path, finder: Finder, swaps: int, seed: int, gold: bool = False
) -> Iterator[dict]:
    """Non-gold mentions of training sentences, and name-swapped copies of gold targets;
    with ``gold``, the gold training targets themselves too (the teacher's probabilities
    on them carry more than their one-hot class: which neutral leans which way)."""
    rows = [r for r in data.load(path) if not data.held_out(r["article"], 1)]
    if gold:
        for r in rows:
            yield _row("newsmtsc-gold", r["sentence"], r["start"], r["end"], r["others"])
    gold: dict[str, set[tuple[int, int]]] = {}
    for r in rows:
        gold.setdefault(r["sentence"], set()).add((r["start"], r["end"]))
    for text, spans in gold.items():
        for sentence, start, end, others in finder.requests(text):
            if sentence == text and (start, end) not in spans:
                yield _row("newsmtsc-other", sentence, start, end, others)
    pool = data.name_pool(rows)
    rng = random.Random(seed)
    for k in range(swaps):
        for old, new in zip(rows, data.swap_names(rows, pool, 1.0, rng), strict=True):
            if new["sentence"] != old["sentence"]:  # a named mention, swapped
                yield _row(
                    f"newsmtsc-swap{k}", new["sentence"], new["start"], new["end"], new["others"]
                )


def _row(source: str, sentence: str, start: int, end: int, others: Iterable) -> dict:
    return {
        "source": source,
        "sentence": sentence,
        "start": start,
        "end": end,
        "others": [list(o) for o in others],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--watchlist", type=Path, default=ROOT / "seeds" / "actors.toml")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--swaps", type=int, default=1, help="name-swapped copies of gold")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--gold", action="store_true", help="also the gold training targets (never held-out ones)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="keep at most N mentions: every one whose sentence names another actor, then a "
        "seeded random sample of the rest (the teacher's labelling time is the budget)",
    )
    args = parser.parse_args()
    finder = Finder(args.watchlist)
    texts = {
        "huffpost": huffpost(args.data / "huffpost" / "News_Category_Dataset_v3_first10000.json"),
        "ecbplus": ecbplus(args.data / "ecbplus" / "dev.jsonl"),
        "demo": demo(ROOT / "seeds" / "demo"),
    }
    keys: set[tuple[str, int, int]] = set()
    counts: dict[str, int] = {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:

        def emit(row: dict) -> None:
            key = (row["sentence"], row["start"], row["end"])
            if key in keys:
                return
            keys.add(key)
            counts[row["source"]] = counts.get(row["source"], 0) + 1
            out.write(json.dumps(row, ensure_ascii=False) + "\n")

        for source, docs in texts.items():
            for text in docs:
                for sentence, start, end, others in finder.requests(text):
                    emit(_row(source, sentence, start, end, others))
        for row in newsmtsc(
            args.data / "newsmtsc" / "train.jsonl", finder, args.swaps, args.seed, args.gold
        ):
            emit(row)
    if args.sample:
        counts = _sample(args.out, args.sample, random.Random(args.seed))
    print(json.dumps(counts))
    return 0


def _sample(path: Path, size: int, rng: random.Random) -> dict[str, int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    multi = [line for line in lines if json.loads(line)["others"]]
    single = [line for line in lines if not json.loads(line)["others"]]
    kept = multi[:size] + rng.sample(single, max(0, min(len(single), size - len(multi))))
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    counts: dict[str, int] = {}
    for line in kept:
        source = json.loads(line)["source"]
        counts[source] = counts.get(source, 0) + 1
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
