"""Scale bench: time and memory per new article as the archive grows (10k -> 1M).

The archive is synthetic and written straight into the tables: articles, their MinHash
band rows, stories (one per five articles) and their term-index rows, arriving at a
constant rate of ``--per-day`` articles a day, so a bigger archive reaches further back in
time while the recent news stays the same size -- which is what a growing archive looks
like to a worker grouping today's articles.

Building is a fixture step, not the thing measured, so it is made cheap: rows go in
with the driver's ``executemany`` in one transaction, with the secondary indexes dropped
first and created again after the load (one sort per index instead of millions of random
B-tree inserts), then ``ANALYZE``. On SQLite each size is its own database file, kept
under ``--cache-dir`` (``build/`` by default) and reused by later runs as long as the
schema revision and :data:`FIXTURE_VERSION` are the same.

Measuring: the same ``--new`` fresh articles (synthetic text on a shared vocabulary, a
fifth of them near-copies of another) are stored with the real repository and grouped
with the real use case (:func:`feeds.usecases.group.group_one`, one transaction each) against
every size. The sizes are measured *in turns*, ``--rounds`` batches each, so that
whatever else runs on the machine weighs on every size alike; a first, unrecorded
batch per size warms the caches as a running worker's would be. Each round's articles
are deleted again, so every batch sees the same archive. Wall and CPU time are taken on
every other article, Python allocations (``tracemalloc`` peak) on the others.

``--explain`` prints SQLite's query plan for every statement one grouping runs, on the
biggest size. ``--sqlite-cache-kib`` overrides the page cache the project sets, to
compare cache sizes. ``--database-url postgresql://...`` grows one PostgreSQL database
size by size instead (no cache; sizes measured one after the other).

Usage::

    .venv/bin/python bench/stories_scale.py [--sizes 10000,100000,1000000] [--new 300]
        [--rounds 3] [--cache-dir build/stories-scale] [--explain]
        [--sqlite-cache-kib N] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from wordfreq import top_n_list, zipf_frequency  # noqa: E402

from feeds.dedup.neardup import BANDS  # noqa: E402
from feeds.dedup.stories import COMMON_ZIPF, INDEX_TERMS  # noqa: E402
from feeds.models import NewArticle  # noqa: E402
from feeds.usecases.group import group_one  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import head_revision, upgrade  # noqa: E402
from storage.repository import SqlStore  # noqa: E402
from storage.tables import (  # noqa: E402
    FEED,
    STORY,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CHUNK = 50_000
# Bump when the synthetic archive changes, so cached fixture files are rebuilt.
FIXTURE_VERSION = 3
# Page cache while bulk-loading a SQLite fixture (1 GiB: the 1M band index fits).
LOAD_CACHE_KIB = 1024 * 1024


def vocabulary() -> tuple[list[str], list[str]]:
    words = [w for w in top_n_list("en", 40_000) if w.isalpha() and len(w) > 2]
    rare = [w for w in words if zipf_frequency(w, "en") < COMMON_ZIPF - 1.5]
    common = [w for w in words if zipf_frequency(w, "en") >= COMMON_ZIPF - 1.5]
    return rare, common


# ---------------------------------------------------------------- building the archive


COLUMNS = {
    "story": ("id", "first_time", "last_time", "size", "signature"),
    "article": (
        "id",
        "url",
        "canonical_url",
        "content_hash",
        "title",
        "summary",
        "content",
        "categories",
        "first_seen",
        "published",
        "analyzed_at",
        "story_id",
    ),
    "article_band": ("band_key", "article_id", "event_time"),
    "story_term": ("term", "story_id", "last_time"),
}


def archive_rows(
    lo: int, hi: int, per_day: int, rare: list[str], stamp: Callable[[datetime], Any]
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows (in :data:`COLUMNS` order) of archive articles ``lo..hi-1``, with their
    bands, stories and index terms; ``stamp`` converts a time to its stored form.

    Article n was seen n steps before NOW: the last days always hold the same number of
    archive articles, however far back the archive reaches. Ids are negative so the
    articles the measurement adds never collide with them.
    """
    rng = random.Random(lo)
    step = timedelta(days=1) / per_day
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    content = "archived text " * 20
    for n in range(lo, hi):
        when = NOW - step * n
        at = stamp(when)
        story, article = -(n // 5 + 1), -(n + 1)
        url = f"https://archive.example/{n}"
        rows["article"].append(
            (
                article,
                url,
                url,
                f"archive-{n}",
                f"Archive {n}",
                "",
                content,
                "[]",
                at,
                at,
                at,
                story,
            )
        )
        rows["article_band"].extend((rng.getrandbits(63), article, at) for _ in range(BANDS))
        if n % 5 == 0:
            chosen = rng.sample(rare, INDEX_TERMS)
            signature = json.dumps(dict.fromkeys(chosen, 1.0))
            rows["story"].append((story, stamp(when - step * 4), at, 5, signature))
            rows["story_term"].extend((t, story, at) for t in chosen)
    return rows


def bulk_load(engine: Engine, start: int, stop: int, per_day: int, rare: list[str]) -> None:
    """Insert archive articles ``start..stop-1`` through the raw driver connection."""
    dialect = engine.dialect
    sqlite = dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    # The column type's own converter: the stored form is exactly what the repository
    # writes (UTC timestamps, naive text on SQLite).
    convert = STORY.c.last_time.type.bind_processor(dialect)

    def stamp(when: datetime) -> Any:
        return convert(when) if convert is not None else when

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            # A throw-away fixture: no rollback journal while loading (WAL again after),
            # and one explicit transaction (the project's connections are autocommit).
            cursor.execute("PRAGMA journal_mode = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
            # The band table's primary key is an index SQLite cannot drop, filled in
            # random key order: a cache big enough to hold it keeps the load CPU-bound.
            cursor.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
            cursor.execute("BEGIN")
        dropped = _drop_indexes(cursor, dialect.name)
        for lo in range(start, stop, CHUNK):
            batch = archive_rows(lo, min(stop, lo + CHUNK), per_day, rare, stamp)
            for name, columns in COLUMNS.items():
                cursor.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) "
                    f"VALUES ({', '.join([mark] * len(columns))})",
                    batch[name],
                )
        for sql in dropped:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
        raw.commit()
        if sqlite:
            cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        raw.close()


def _drop_indexes(cursor: Any, dialect: str) -> list[str]:
    """Drop the secondary indexes of the bulk-loaded tables; their CREATE statements."""
    names = ", ".join(f"'{t}'" for t in COLUMNS)
    if dialect == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({names})"
        )
    else:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            f"AND tablename IN ({names}) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    found = [(str(name), str(sql)) for name, sql in cursor.fetchall()]
    for name, _ in found:
        cursor.execute(f"DROP INDEX {name}")
    return [sql for _, sql in found]


def prepare(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        if conn.execute(FEED.select().where(FEED.c.id == 1)).first() is None:
            conn.execute(
                FEED.insert().values(id=1, url="https://fresh.example/feed", created_at=NOW)
            )
    return engine


def sqlite_fixture(cache_dir: Path, size: int, per_day: int, rare: list[str]) -> tuple[Path, float]:
    """The cached database file for ``size`` archive articles, built if missing."""
    path = cache_dir / f"stories-{size}-{per_day}-{head_revision()}-v{FIXTURE_VERSION}.db"
    if path.exists():
        return path, 0.0
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    began = time.perf_counter()
    engine = prepare(f"sqlite:///{partial}")
    bulk_load(engine, 0, size, per_day, rare)
    engine.dispose()
    os.replace(partial, path)
    return path, time.perf_counter() - began


# ---------------------------------------------------------------- measuring


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


class Sample:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.peaks: list[int] = []


def measure(store: SqlStore, batch: list[NewArticle], into: Sample | None) -> None:
    with store.transaction() as repo:
        ids = [repo.add_article(a).id for a in batch]
    with store.transaction() as repo:
        items = repo.ungrouped_articles(ids=ids, limit=len(ids))
    # Timed without tracing (tracemalloc slows Python code several times over); the
    # allocations are traced on every other article instead.
    for n, item in enumerate(items):
        if n % 2:
            tracemalloc.start()
            group_one(store, item)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            if into is not None:
                into.peaks.append(peak)
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            group_one(store, item)
            if into is not None:
                into.cpu.append(time.process_time() - cpu)
                into.wall.append(time.perf_counter() - wall)
    forget_batch(store.engine)


def forget_batch(engine: Engine) -> None:
    """Remove the measured articles so the next batch sees the same archive.

    Archive ids are negative, the batch's positive. Foreign-key checks are off while
    deleting: every row that points at a new article is deleted here, and SQLite would
    otherwise look for ``duplicate_of`` children (not indexed) by scanning the whole
    archive once per deleted article -- hours at a million articles.
    """
    statements = [
        "DELETE FROM article_band WHERE article_id > 0",
        "DELETE FROM story_term WHERE story_id > 0",
        "DELETE FROM sighting WHERE article_id > 0",
        "DELETE FROM article WHERE id > 0",
        "DELETE FROM story WHERE id > 0",
    ]
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            # Outside a transaction (the pragma is a no-op inside one); autocommit mode.
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("BEGIN")
        else:
            cursor.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            cursor.execute(statement)
        raw.commit()
        if sqlite:
            cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()


def report(size: int, build: float, sample: Sample) -> str:
    wall = sorted(sample.wall)
    return (
        f"| {size:,} | {build:.0f} | {statistics.mean(wall) * 1000:.2f} | "
        f"{statistics.median(wall) * 1000:.2f} | {wall[int(len(wall) * 0.95)] * 1000:.2f} | "
        f"{statistics.mean(sample.cpu) * 1000:.2f} | {statistics.mean(sample.peaks) / 1024:.0f} |"
    )


@contextmanager
def recorded(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if not many:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def explain(store: SqlStore, batch: list[NewArticle]) -> None:
    """SQLite's plan for every statement one grouping runs (the near-copy's, which uses
    both lookups)."""
    with store.transaction() as repo:
        ids = [repo.add_article(a).id for a in batch]
    with store.transaction() as repo:
        items = repo.ungrouped_articles(ids=ids, limit=len(ids))
    for item in items[:-1]:
        group_one(store, item)
    with recorded(store.engine) as seen:
        group_one(store, items[-1])
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, params in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
                continue
            print("\n" + " ".join(statement.split())[:400])
            for row in cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall():
                print("    ", row[-1])
        raw.rollback()
    finally:
        raw.close()


def with_cache(engine: Engine, kib: int | None) -> Engine:
    if kib is not None:

        def pragma(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA cache_size = -{kib}")

        event.listen(engine, "connect", pragma)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--new", type=int, default=300, help="new articles per size")
    parser.add_argument("--rounds", type=int, default=3, help="turns the sizes take")
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "stories-scale")
    parser.add_argument("--database-url", default=None, help="grow a PostgreSQL database")
    parser.add_argument("--sqlite-cache-kib", type=int, default=None)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rare, common = vocabulary()
    per_round = max(2, args.new // args.rounds)
    stores: dict[int, SqlStore] = {}
    builds: dict[int, float] = {}
    samples = {size: Sample() for size in sizes}
    print(
        f"{args.per_day} archive articles/day, {per_round} x {args.rounds} new articles per "
        f"size, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    header = (
        "| stored articles | build (s) | wall ms/article (mean) | median | p95 | "
        "CPU ms/article (mean) | traced KiB/article |\n|---|---|---|---|---|---|---|"
    )
    if args.database_url:
        # One database grown size by size: each size is measured right after its growth.
        engine = prepare(args.database_url)
        store = SqlStore(engine)
        print(f"database {engine.dialect.name}\n{header}", flush=True)
        built = 0
        for size in sizes:
            began = time.perf_counter()
            bulk_load(engine, built, size, args.per_day, rare)
            built = size
            measure(store, new_articles(per_round, -1, rare, common), None)
            for round_no in range(args.rounds):
                measure(store, new_articles(per_round, round_no, rare, common), samples[size])
            print(report(size, time.perf_counter() - began, samples[size]), flush=True)
        engine.dispose()
        return
    for size in sizes:
        path, builds[size] = sqlite_fixture(args.cache_dir, size, args.per_day, rare)
        print(f"fixture {path.name}: built in {builds[size]:.0f} s", flush=True)
        stores[size] = SqlStore(with_cache(make_engine(f"sqlite:///{path}"), args.sqlite_cache_kib))
    for size in sizes:  # warm-up, not recorded
        measure(stores[size], new_articles(per_round, -1, rare, common), None)
    for round_no in range(args.rounds):
        batch = new_articles(per_round, round_no, rare, common)
        for size in sizes:
            measure(stores[size], batch, samples[size])
    print(f"load average after {os.getloadavg()[0]:.2f}\n{header}")
    for size in sizes:
        print(report(size, builds[size], samples[size]))
    smallest, biggest = sizes[0], sizes[-1]
    for key in ("wall", "cpu"):
        small = statistics.mean(getattr(samples[smallest], key))
        print(
            f"{key} ratio {biggest:,} / {smallest:,}: "
            f"{statistics.mean(getattr(samples[biggest], key)) / small:.2f}"
        )
    peak = statistics.mean(samples[biggest].peaks) / statistics.mean(samples[smallest].peaks)
    print(f"traced memory ratio {biggest:,} / {smallest:,}: {peak:.2f}")
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.explain:
        explain(stores[biggest], new_articles(per_round, 99, rare, common))
    for store in stores.values():
        store.engine.dispose()


if __name__ == "__main__":
    main()
