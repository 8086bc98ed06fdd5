"""The least CPU a first poll of the benchmark corpus can cost, stage by stage.

    python bench/ingest_floor.py [--feeds 200] [--entries 50] [--real-world-markup]

Runs, in one process and without the pipeline around them, only the steps whose output
newsmon stores: the XML parse (lxml), the text of each item's summary and body (the
project's HTML-to-text), the normalised content hash, and plain ``sqlite3`` inserts of
the rows, 50 to a transaction. No HTTP, no checks that the fast reader agrees with
feedparser, no deduplication look-ups, no ORM. Beside it, feedparser's parse of the same
documents, which is most of what reader spends on a first poll.

The point is the ratio the issue asks for: a first poll at 5x reader's must fit in a
fifth of reader's time. When this floor alone does not fit there on the cores at hand,
the bar cannot be met by tuning the pipeline around it. CPU seconds (process time);
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser  # noqa: E402
from lxml import etree  # noqa: E402

from bench.corpus import generate_corpus  # noqa: E402
from feeds.dedup.keys import normalise_text  # noqa: E402
from feeds.parse.text import html_to_text  # noqa: E402

_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.process_time()
    out = fn()
    return out, time.process_time() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--real-world-markup", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="newsmon-floor-") as tmp:
        root = Path(tmp)
        paths = generate_corpus(
            root, feeds=args.feeds, entries=args.entries, real_world=args.real_world_markup
        )
        blobs = [(root / p.lstrip("/")).read_bytes() for p in paths]

        parser = etree.XMLParser(resolve_entities=False, no_network=True, strip_cdata=True)
        docs, t_xml = _timed(lambda: [etree.fromstring(b, parser) for b in blobs])

        def texts() -> list[tuple[str, str, str, str | None, str | None]]:
            rows = []
            for doc in docs:
                for item in doc.iter("item"):
                    rows.append(
                        (
                            item.findtext("title") or "",
                            html_to_text(item.findtext("description") or ""),
                            html_to_text(item.findtext(_CONTENT) or ""),
                            item.findtext("link"),
                            item.findtext("guid"),
                        )
                    )
            return rows

        rows, t_text = _timed(texts)

        def hashes() -> list[str]:
            return [
                hashlib.sha256(
                    (normalise_text(r[0]) + "\x1f" + normalise_text(r[2])).encode()
                ).hexdigest()
                for r in rows
            ]

        digests, t_hash = _timed(hashes)

        def inserts() -> None:
            con = sqlite3.connect(root / "floor.db")
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(
                "CREATE TABLE article (id INTEGER PRIMARY KEY, title TEXT, summary TEXT, "
                "content TEXT, url TEXT UNIQUE, guid TEXT, content_hash TEXT UNIQUE)"
            )
            batch = args.entries
            for start in range(0, len(rows), batch):
                with con:
                    con.executemany(
                        "INSERT OR IGNORE INTO article (title, summary, content, url, guid, "
                        "content_hash) VALUES (?, ?, ?, ?, ?, ?)",
                        [(*r, d) for r, d in zip(rows[start : start + batch],
                                                 digests[start : start + batch], strict=True)],
                    )  # fmt: skip
            con.close()

        _, t_sql = _timed(inserts)
        _, t_feedparser = _timed(lambda: [feedparser.parse(b) for b in blobs])

    floor = t_xml + t_text + t_hash + t_sql
    kind = "real-world markup" if args.real_world_markup else "clean"
    print(f"corpus: {args.feeds} feeds x {args.entries} entries, {kind}; {len(rows)} items")
    print()
    print("| step | CPU s | ms per feed |")
    print("|---|---|---|")
    for name, seconds in (
        ("XML parse (lxml)", t_xml),
        ("summary and body to text", t_text),
        ("normalised content hash", t_hash),
        ("sqlite3 inserts, one transaction a feed", t_sql),
        ("**floor: the four together**", floor),
        ("feedparser's parse alone (reader's main cost)", t_feedparser),
    ):
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / args.feeds:.1f} |")
    print()
    print(
        f"feedparser alone / floor: {t_feedparser / floor:.1f}x on one core; "
        f"with two cores fully used and nothing else, at most {2 * t_feedparser / floor:.1f}x"
    )


if __name__ == "__main__":
    main()
