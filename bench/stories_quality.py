"""Quality bench for near-duplicates and stories, through the real pipeline.

Serves the ECB+ documents (one JSON object per line: ``doc``, ``topic``, ``subtopic``,
``text``; same ``subtopic`` = same real-world event) as the RSS feeds of several outlets
on a loopback HTTP server, adds lightly edited syndicated copies (another headline, a
dropped sentence, a wire dateline), polls every feed with the real pipeline into a fresh
SQLite database (fetch, parse, dedup, analyse, group), and scores what was stored:

* B-cubed precision, recall and F1 of ``story_id`` against the events, over every stored
  article (originals and copies);
* near-duplicates: how many copies point at their original (``duplicate_of``), and how
  many articles point at something that is not their source (false merges).

Publication times: each event gets a start date drawn uniformly over ``--spread-days``
days; its articles appear within ``--burst-hours`` of it, copies a few hours after their
original. ``--spread-days 0`` puts every event at the same moment, so that only the words
can keep two events apart (the worst case). ``--event-gaps 1,2,4,10,30`` is the realistic
setting: each topic is dated over ``--spread-days`` and its two events follow each other
one of those numbers of days apart (drawn per topic), so time separates some pairs of
like events and leaves the close ones to the content.

Usage::

    .venv/bin/python bench/stories_quality.py [--data PATH] [--topics 1-10] [--seeds 1,2,3]
        [--spread-days 365] [--event-gaps 1,2,4,10,30] [--sweep 0.2,0.25,0.3] [--guard-sweep 1,2,3]

``--guard-sweep`` tries other values of ``feeds.dedup.stories.GUARD_NAMES`` (how many of
the most salient names the name guard compares; 0 turns the guard off).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feeds.dedup.stories as stories_module  # noqa: E402
from worker.bootstrap import build_container  # noqa: E402
from worker.settings import load_settings  # noqa: E402

OUTLETS = ("harbour-wire", "meridian-post", "northern-courier", "eastgate-daily", "lakeside")
BASE = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Item:
    key: str  # unique per served item
    gold: str  # the event
    source: str  # the document it was made from (copies share their original's)
    outlet: str
    title: str
    text: str
    published: datetime
    copy_of: str | None = None


def default_data() -> Path:
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR", ROOT.parent / "shared"))
    return shared / "data" / "ecbplus" / "dev.jsonl"


def parse_topics(spec: str) -> set[int]:
    chosen: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        chosen.update(range(int(low), int(high or low) + 1))
    return chosen


def parse_gaps(spec: str) -> tuple[float, ...]:
    return tuple(float(x) for x in spec.split(",") if x)


def split_doc(text: str) -> tuple[str, str]:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    title = " ".join(lines[0].split()[:20]) if lines else "untitled"
    body = "\n".join(lines[1:]) if len(lines) > 2 else "\n".join(lines)
    return title, body


def edit_copy(item: Item, rng: random.Random) -> Item:
    """A syndicated copy with one or two light edits."""
    title, lines = item.title, item.text.split("\n")
    edits = rng.sample(["headline", "drop", "wire"], k=rng.choice([1, 2]))
    if "headline" in edits:
        words = " ".join(lines[-1].split()[:9]) if lines else "Latest"
        title = f"{words} - report"
    if "drop" in edits and len(lines) > 3:
        del lines[rng.randrange(1, len(lines))]
    if "wire" in edits:
        city = rng.choice(["LONDON", "NEW YORK", "PARIS", "SYDNEY"])
        lines[0] = f"{city} (Newswire) - " + lines[0]
    outlet = rng.choice([o for o in OUTLETS if o != item.outlet])
    return Item(
        key=item.key + "-copy",
        gold=item.gold,
        source=item.source,
        outlet=outlet,
        title=title,
        text="\n".join(lines),
        published=item.published + timedelta(hours=rng.uniform(0.5, 6)),
        copy_of=item.key,
    )


def event_starts(
    docs: list[dict[str, Any]],
    rng: random.Random,
    spread_days: float,
    event_gaps: tuple[float, ...] = (),
) -> dict[str, datetime]:
    """When each event starts.

    Without ``event_gaps`` every event draws its own date over ``spread_days``. With them
    (the realistic setting), each *topic* draws its date over ``spread_days`` and its
    events follow one another, each this many days (one of ``event_gaps``, drawn per
    topic) after the one before, in a random order: two earthquakes of one topic one,
    two, four, ten or thirty days apart, as news has them.
    """
    events = sorted({d["subtopic"] for d in docs})
    if not event_gaps:
        return {e: BASE + timedelta(days=rng.uniform(0, spread_days)) for e in events}
    by_topic: dict[int, list[str]] = defaultdict(list)
    for d in docs:
        if d["subtopic"] not in by_topic[d["topic"]]:
            by_topic[d["topic"]].append(d["subtopic"])
    start: dict[str, datetime] = {}
    for topic in sorted(by_topic):
        when = BASE + timedelta(days=rng.uniform(0, spread_days))
        gap = timedelta(days=rng.choice(event_gaps))
        order = sorted(by_topic[topic])
        rng.shuffle(order)
        for event in order:
            start[event] = when
            when += gap
    return start


def make_items(
    docs: list[dict[str, Any]],
    seed: int,
    copies: float,
    spread_days: float,
    burst_hours: float,
    event_gaps: tuple[float, ...] = (),
) -> list[Item]:
    rng = random.Random(seed)
    start = event_starts(docs, rng, spread_days, event_gaps)
    items = []
    for doc in docs:
        title, body = split_doc(doc["text"])
        items.append(
            Item(
                key=doc["doc"].replace(".xml", ""),
                gold=doc["subtopic"],
                source=doc["doc"],
                outlet=rng.choice(OUTLETS),
                title=title,
                text=body,
                published=start[doc["subtopic"]] + timedelta(hours=rng.uniform(0, burst_hours)),
            )
        )
    items += [edit_copy(it, rng) for it in list(items) if rng.random() < copies]
    return items


def rss(outlet: str, base_url: str, items: list[Item]) -> bytes:
    entries = []
    for it in sorted(items, key=lambda i: i.published, reverse=True):
        link = f"{base_url}/{outlet}/{it.key}.html"
        body = "".join(f"<p>{escape(line)}</p>" for line in it.text.split("\n"))
        entries.append(
            "<item>"
            f"<title>{escape(it.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{outlet}-{it.key}</guid>'
            f"<pubDate>{format_datetime(it.published, usegmt=True)}</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{outlet}</title><link>{base_url}/{outlet}/</link>"
        + "".join(entries)
        + "</channel></rss>"
    )
    return doc.encode("utf-8")


class _Server:
    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        documents = self.documents

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                body = documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def bcubed(gold: list[str], pred: list[Any]) -> tuple[float, float, float]:
    by_pred: dict[Any, set[int]] = defaultdict(set)
    by_gold: dict[str, set[int]] = defaultdict(set)
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        by_pred[p].add(i)
        by_gold[g].add(i)
    precision = recall = 0.0
    for g, p in zip(gold, pred, strict=True):
        both = len(by_pred[p] & by_gold[g])
        precision += both / len(by_pred[p])
        recall += both / len(by_gold[g])
    precision, recall = precision / len(gold), recall / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def poll(items: list[Item]) -> tuple[list[Any], dict[int, str]]:
    """Serve ``items`` as feeds, run the real pipeline into a fresh SQLite database and
    return the stored articles with the served item key of each article id."""
    server = _Server()
    try:
        by_outlet: dict[str, list[Item]] = defaultdict(list)
        for it in items:
            by_outlet[it.outlet].append(it)
        for outlet, its in by_outlet.items():
            server.documents[f"/{outlet}/feed.xml"] = rss(outlet, server.base, its)
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                database_url=f"sqlite:///{tmp}/bench.db",
                allow_private_networks=True,
                seeds_dir=ROOT / "seeds",
                max_feed_bytes=50 * 1024 * 1024,
            )
            container = build_container(settings)
            try:
                pipeline = container.pipeline
                with container.store.transaction() as repo:
                    for outlet in by_outlet:
                        repo.add_feed(f"{server.base}/{outlet}/feed.xml", outlet, BASE)
                report = pipeline.poll_pass(pipeline.sources())
                failed = [r for r in report.feeds if r.status != "ok"]
                if failed:
                    raise SystemExit(f"feeds failed: {failed}")
                with container.store.transaction() as repo:
                    stored = list(repo.iter_articles())
            finally:
                container.close()
    finally:
        server.close()
    key_of = {a.id: (a.url or "").rsplit("/", 1)[-1].removesuffix(".html") for a in stored}
    return stored, key_of


def run_once(items: list[Item]) -> dict[str, float]:
    stored, key_of = poll(items)
    by_key = {it.key: it for it in items}
    id_of = {key: article_id for article_id, key in key_of.items()}
    gold = [by_key[key_of[a.id]].gold for a in stored]
    pred = [a.story_id for a in stored]
    precision, recall, f1 = bcubed(gold, pred)
    copies = [it for it in items if it.copy_of]
    # A copy counts as found when it and its original end under one root (the first of
    # them to be analysed is the root, so the link may point either way).
    root = {a.id: a.duplicate_of or a.id for a in stored}
    found = sum(
        1
        for it in copies
        if it.key in id_of
        and it.copy_of in id_of
        and root[id_of[it.key]] == root[id_of[it.copy_of]]
    )
    cross_event = same_event = 0
    for a in stored:
        if a.duplicate_of is None:
            continue
        item, target = by_key[key_of[a.id]], by_key[key_of[a.duplicate_of]]
        if target.gold != item.gold:
            cross_event += 1
        elif target.source != item.source:
            same_event += 1
    return {
        "articles": len(stored),
        "events": len(set(gold)),
        "stories": len(set(pred)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "copies": len(copies),
        "copies_found": found,
        "cross_event_duplicates": cross_event,
        "corpus_duplicates": same_event,
    }


def add_corpus_arguments(
    parser: argparse.ArgumentParser, *, topics: str, spread_days: float
) -> None:
    """The options every story bench shares: which ECB+ topics, seeds and times."""
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--topics", default=topics, help="e.g. 1-10 or 11-20 or 1,3,5")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--copies", type=float, default=0.15, help="share of docs copied")
    parser.add_argument("--spread-days", type=float, default=spread_days)
    parser.add_argument("--burst-hours", type=float, default=36.0)


def corpus_documents(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The ECB+ documents of ``--topics`` read from ``--data``."""
    try:
        lines = args.data.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SystemExit(f"error: cannot read {args.data}: {exc.strerror}") from None
    topics = parse_topics(args.topics)
    return [d for d in map(json.loads, lines) if d["topic"] in topics]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser, topics="1-20", spread_days=365.0)
    parser.add_argument(
        "--event-gaps",
        default="",
        help="realistic times: a topic's events follow one another this many days apart "
        "(one value drawn per topic, e.g. 1,2,4,10,30); topics spread over --spread-days",
    )
    parser.add_argument("--sweep", default="", help="MIN_SIMILARITY values to try")
    parser.add_argument("--guard-sweep", default="", help="GUARD_NAMES values to try")
    args = parser.parse_args()
    docs = corpus_documents(args)
    thresholds = [float(x) for x in args.sweep.split(",") if x] or [stories_module.MIN_SIMILARITY]
    guards = [int(x) for x in args.guard_sweep.split(",") if x] or [stories_module.GUARD_NAMES]
    seeds = [int(s) for s in args.seeds.split(",")]
    gaps = parse_gaps(args.event_gaps)
    print(
        f"{len(docs)} documents, topics {args.topics}, spread {args.spread_days} days, "
        f"event gaps {args.event_gaps or 'none (each event drawn alone)'}, "
        f"copies {args.copies}, seeds {seeds}"
    )
    print(
        "| min similarity | guard names | articles | stories | events | B3 P | B3 R | B3 F1 | "
        "copies found | duplicates across events | other duplicates |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for threshold, guard in [(t, g) for t in thresholds for g in guards]:
        stories_module.MIN_SIMILARITY = threshold
        stories_module.GUARD_NAMES = guard
        runs = [
            run_once(make_items(docs, seed, args.copies, args.spread_days, args.burst_hours, gaps))
            for seed in seeds
        ]

        def mean(key: str, runs: list[dict[str, float]] = runs) -> float:
            return sum(r[key] for r in runs) / len(runs)

        print(
            f"| {threshold:.2f} | {guard or 'off'} | {mean('articles'):.0f} | "
            f"{mean('stories'):.0f} | {mean('events'):.0f} | {mean('precision'):.3f} | "
            f"{mean('recall'):.3f} | "
            f"{mean('f1'):.3f} | {mean('copies_found'):.0f}/{mean('copies'):.0f} | "
            f"{mean('cross_event_duplicates'):.0f} | {mean('corpus_duplicates'):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
