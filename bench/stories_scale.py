"""Scale bench: time and memory per new article as the archive grows (10k -> 1M).

Builds a synthetic archive in one SQLite (or PostgreSQL) database, in steps, straight
through the tables: articles, their MinHash band rows, stories (one per five articles) and
their term-index rows, arriving at a constant rate of ``--per-day`` articles a day, so
the archive grows *backwards in time* while the recent news stays the same size. At each
size it stores ``--new`` fresh articles (synthetic text on a shared vocabulary, a fifth
of them near-copies of another) with the real repository and groups each one with the
real use case (:func:`feeds.grouping.group_one`), timing it and tracing its Python
allocations.

Usage::

    .venv/bin/python bench/stories_scale.py [--sizes 10000,100000,1000000] [--new 300]
        [--database-url sqlite:///PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402
from wordfreq import top_n_list, zipf_frequency  # noqa: E402

from feeds.grouping import group_one  # noqa: E402
from feeds.models import NewArticle  # noqa: E402
from feeds.neardup import BANDS  # noqa: E402
from feeds.stories import COMMON_ZIPF, INDEX_TERMS  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.repository import SqlStore  # noqa: E402
from storage.tables import (  # noqa: E402
    ARTICLE,
    ARTICLE_BAND,
    FEED,
    SIGHTING,
    STORY,
    STORY_TERM,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CHUNK = 20_000


def vocabulary() -> tuple[list[str], list[str]]:
    words = [w for w in top_n_list("en", 40_000) if w.isalpha() and len(w) > 2]
    rare = [w for w in words if zipf_frequency(w, "en") < COMMON_ZIPF - 1.5]
    common = [w for w in words if zipf_frequency(w, "en") >= COMMON_ZIPF - 1.5]
    return rare, common


def grow(store: SqlStore, start: int, stop: int, per_day: int, rare: list[str]) -> None:
    """Add synthetic archive articles ``start..stop-1`` (older as the index grows)."""
    rng = random.Random(start)
    engine = store.engine
    step = timedelta(days=1) / per_day
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        articles, bands, stories, terms = [], [], [], []
        for n in range(lo, hi):
            # Article n was seen n steps before NOW: the last days always hold the same
            # number of archive articles, however far back the archive reaches.
            when = NOW - step * n
            articles.append(
                {
                    "id": -(n + 1),
                    "url": f"https://archive.example/{n}",
                    "canonical_url": f"https://archive.example/{n}",
                    "content_hash": f"archive-{n}",
                    "title": f"Archive {n}",
                    "summary": "",
                    "content": "archived text " * 20,
                    "categories": "[]",
                    "first_seen": when,
                    "published": when,
                    "analyzed_at": when,
                    "story_id": -(n // 5 + 1),
                }
            )
            bands.extend(
                {"band_key": rng.getrandbits(63), "article_id": -(n + 1), "event_time": when}
                for _ in range(BANDS)
            )
            if n % 5 == 0:
                chosen = rng.sample(rare, INDEX_TERMS)
                stories.append(
                    {
                        "id": -(n // 5 + 1),
                        "first_time": when - step * 4,
                        "last_time": when,
                        "size": 5,
                        "signature": json.dumps(dict.fromkeys(chosen, 1.0)),
                    }
                )
                terms.extend(
                    {"term": t, "story_id": -(n // 5 + 1), "last_time": when} for t in chosen
                )
        with engine.begin() as conn:
            conn.execute(STORY.insert(), stories)
            conn.execute(ARTICLE.insert(), articles)
            conn.execute(ARTICLE_BAND.insert(), bands)
            conn.execute(STORY_TERM.insert(), terms)


def new_articles(n: int, seed: int, rare: list[str], common: list[str]) -> list[NewArticle]:
    rng = random.Random(seed)
    out: list[NewArticle] = []
    texts: list[str] = []
    for i in range(n):
        if texts and rng.random() < 0.2:
            words = rng.choice(texts).split()
            text = " ".join(["WIRE", "-"] + words[: len(words) * 4 // 5])
        else:
            topic = rng.sample(rare, 12)
            text = " ".join(
                rng.choice(topic) if rng.random() < 0.3 else rng.choice(common) for _ in range(120)
            )
            texts.append(text)
        when = NOW - timedelta(hours=rng.uniform(0, 24))
        out.append(
            NewArticle(
                feed_id=1,
                entry_key=f"guid:new-{seed}-{i}",
                url=f"https://fresh.example/{seed}/{i}",
                canonical_url=f"https://fresh.example/{seed}/{i}",
                content_hash=f"fresh-{seed}-{i}",
                title=" ".join(text.split()[:8]),
                published=when,
                author=None,
                summary="",
                content=text,
                categories=(),
                seen_at=when,
            )
        )
    return out


def measure(store: SqlStore, batch: list[NewArticle]) -> tuple[float, float, float]:
    with store.transaction() as repo:
        ids = [repo.add_article(a).id for a in batch]
    with store.transaction() as repo:
        items = repo.ungrouped_articles(ids=ids, limit=len(ids))
    # Timed without tracing (tracemalloc slows Python code several times over); the
    # allocations are traced on every other article instead.
    times, peaks = [], []
    for n, item in enumerate(items):
        if n % 2:
            tracemalloc.start()
            group_one(store, item)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        else:
            began = time.perf_counter()
            group_one(store, item)
            times.append(time.perf_counter() - began)
    # Remove this round's articles so the next size sees the same recent news.
    with store.engine.begin() as conn:
        conn.execute(delete(ARTICLE_BAND).where(ARTICLE_BAND.c.article_id > 0))
        conn.execute(delete(STORY_TERM).where(STORY_TERM.c.story_id > 0))
        conn.execute(delete(SIGHTING).where(SIGHTING.c.article_id > 0))
        conn.execute(delete(ARTICLE).where(ARTICLE.c.id > 0))
        conn.execute(delete(STORY).where(STORY.c.id > 0))
    times.sort()
    return (
        statistics.mean(times) * 1000,
        times[int(len(times) * 0.95)] * 1000,
        statistics.mean(peaks) / 1024,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--new", type=int, default=300)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/scale.db"
    engine = make_engine(url)
    upgrade(engine)
    store = SqlStore(engine)
    with engine.begin() as conn:
        conn.execute(FEED.insert().values(id=1, url="https://fresh.example/feed", created_at=NOW))
    rare, common = vocabulary()
    # Archive rows get negative ids, so the new articles' own ids never collide with them.
    print(f"database {engine.dialect.name}, {args.per_day} articles/day, {args.new} new per size")
    print(
        "| stored articles | build (s) | group ms/article (mean) | p95 ms | "
        "traced KiB/article | process max RSS MiB |"
    )
    print("|---|---|---|---|---|---|")
    built = 0
    for round_no, size in enumerate(sizes):
        began = time.perf_counter()
        grow(store, built, size, args.per_day, rare)
        built = size
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        build = time.perf_counter() - began
        mean, p95, kib = measure(store, new_articles(args.new, round_no, rare, common))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"| {size:,} | {build:.0f} | {mean:.2f} | {p95:.2f} | {kib:.0f} | {rss:.0f} |",
            flush=True,
        )
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
