"""Latency of the web API (``newsmon web``) on a PostgreSQL archive of a million articles.

    .venv/bin/python -m bench.bench_web [--articles 1000000] [--days 180] [--requests 50]
        [--database newsmon_bench_web] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--reuse] [--keep] [--out build/bench_web.md] [--explain]

What it measures: wall-clock latency, seen by an HTTP client on the same machine, of the
JSON API routes the dashboard leans on, served by the real server (``newsmon web`` as a
subprocess, token auth on) from a PostgreSQL database built by the project's migrations:

* ``GET /api/v1/overview`` (7 days: hourly and daily volume, largest stories, movers,
  topic totals, failing feeds);
* ``GET /api/v1/actors/{name}?days=90`` for the most frequent actor (in about 8% of the
  articles) and for a mid-frequency one (the 200th by articles);
* ``GET /api/v1/articles?limit=50``, plain and filtered to the most frequent actor.

Each route gets ``--warmup`` unrecorded requests, then ``--requests`` recorded ones,
sequential on one keep-alive connection and interleaved round-robin (one request per route
per round), so whatever else runs on the machine weighs on every route alike. Reported
per route: p50, p95 (nearest rank) and max in milliseconds. The bar: the overview and an
actor's 90-day series answer within 200 ms at the 95th percentile.

The fixture: a fresh database (``--database``, dropped and created again unless
``--reuse`` finds it filled with the same parameters), migrated to head with
:func:`storage.migrate.upgrade`, then filled with plain SQL (``INSERT … SELECT`` over
``generate_series``) rather than through the ingest path: feeding a million articles
through fetching, storing and analysis would take hours, and only the shape of the rows
matters to the read queries measured here. The load drops the tables' secondary indexes,
unique and foreign-key constraints first and creates them again afterwards from the
definitions the migrations made (``pg_get_indexdef`` / ``pg_get_constraintdef``, read
before dropping), then runs ``VACUUM ANALYZE`` so index-only scans see an all-visible
table, as on a server whose autovacuum has caught up. What is generated (seeded, so two
runs build the same data):

* ``--feeds`` feeds (skewed volume), a few ``failing`` and ``flaky`` with a last error;
* ``--articles`` articles over the ``--days`` ending now, ``first_seen`` increasing with
  ``id`` (jitter of up to three articles' spacing), unique hashes and canonical URLs (a
  tenth NULL), short title, summary and content; each sighted by one feed, a third by two;
* about 60% of the articles in stories (stories are groups of nearby articles with skewed
  sizes), 3% copies (``duplicate_of``) of a recent article;
* 1-3 of the 17 IPTC level-1 topics per article (codes and labels from
  ``seeds/topics.toml``), skewed;
* 1-5 actors per article (about 3 on average) drawn from ``--actors`` names with a Zipf-like
  law (exponent 0.75: the first is in about 8.5% of the articles), each with a sentiment
  label consistent with its score's sign, mentions and, for 40%, an evidence sentence;
  ``seen_at`` on topic and actor rows is the article's ``first_seen`` (as every write sets
  it since migration ``9_series_index``).

``--explain`` also runs the overview's and the top actor's statements in this process
(through the project's use cases, statements captured with SQLAlchemy events), prints
each statement's median time over seven runs, and ``EXPLAIN (ANALYZE, BUFFERS)`` of those
slower than ``--explain-ms``.

The markdown table is printed and, with ``--out``, written to a file. The server is
stopped and the database dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

BIN = Path(sys.executable).parent
BAR_MS = 200.0
ZIPF_S = 0.75  # actor frequency ~ 1 / rank**s
STORY_WINDOW = 2000  # articles per run of stories (about 8.6 hours at 1M over 180 days)
STORIES_PER_WINDOW = 400
MID_RANK = 200  # the "mid-frequency" actor: this rank by articles
FIXTURE_VERSION = 1
FILLED_TABLES = ("feed", "article", "sighting", "story", "article_topic", "article_actor")

# The most frequent actors get real names (the rest "Person 0123" …), so the top actor's
# URL is one a user would type.
TOP_ACTORS = [
    ("Ukraine", "country"),
    ("Russia", "country"),
    ("United States", "country"),
    ("China", "country"),
    ("European Union", "organisation"),
    ("Vladimir Putin", "person"),
    ("Donald Trump", "person"),
    ("NATO", "organisation"),
    ("Israel", "country"),
    ("Volodymyr Zelensky", "person"),
    ("Germany", "country"),
    ("United Nations", "organisation"),
    ("Xi Jinping", "person"),
    ("France", "country"),
    ("Iran", "country"),
    ("Emmanuel Macron", "person"),
    ("United Kingdom", "country"),
    ("World Health Organization", "organisation"),
    ("India", "country"),
    ("Federal Reserve", "organisation"),
]
WORDS = (
    "minister government talks election market court storm strike vaccine budget army "
    "ceasefire summit inflation protest trade energy climate police health border deal "
    "rates floods sanctions league final school science report crisis"
).split()


# ------------------------------------------------------------------ database


def database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def fixture_tag(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "version": FIXTURE_VERSION,
        "articles": args.articles,
        "days": args.days,
        "feeds": args.feeds,
        "actors": args.actors,
        "seed": args.seed,
    }


def existing_fixture(admin_url: str, name: str) -> dict[str, Any] | None:
    """The parameters a filled database was made with (kept as the database's comment)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        found = json.loads(row[0])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> str | None:
    """The project's schema, from its migrations; returns the revision reached."""
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
        return current_revision(engine)
    finally:
        engine.dispose()


# ------------------------------------------------------------------ the fixture


def topics_from_seeds() -> list[tuple[str, str]]:
    """The 17 IPTC level-1 topics (``medtop:NN000000``) with their labels."""
    data = tomllib.loads((ROOT / "seeds" / "topics.toml").read_text(encoding="utf-8"))
    found = []
    for table in data.values():
        for item in table if isinstance(table, list) else []:
            code = item.get("code", "")
            if code.startswith("medtop:") and code.endswith("000000") and len(code) == 15:
                found.append((code, item["label"]))
    return sorted(dict(found).items())


def actor_pool(count: int) -> list[tuple[int, str, str, float]]:
    """(rank, name, type, sentiment bias) for ``count`` actors, most frequent first."""
    kinds = ("person", "organisation", "country")
    pool = []
    for rank in range(1, count + 1):
        if rank <= len(TOP_ACTORS):
            name, kind = TOP_ACTORS[rank - 1]
        else:
            kind = kinds[rank % 3]
            name = f"{kind.capitalize()} {rank:04d}"
        pool.append((rank, name, kind, round(0.35 * math.sin(rank * 1.7), 4)))
    return pool


def feed_of(column: str, feeds: int) -> str:
    """SQL: an article's first feed, a skewed pseudo-random function of its id."""
    uniform = f"(mod({column}::bigint * 2654435761, 4294967296)::float8 / 4294967296)"
    return f"(1 + floor({feeds} * power({uniform}, 2))::int)"


def detach(conn: psycopg.Connection) -> list[str]:
    """Drop the filled tables' foreign keys, unique constraints and plain indexes; return
    the statements that create them again, in order (indexes, uniques, foreign keys)."""
    tables = list(FILLED_TABLES)
    constraints = conn.execute(
        "SELECT contype, conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype IN ('f', 'u') AND conrelid::regclass::text = ANY(%s) "
        "ORDER BY contype, conname",
        (tables,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (tables,),
    ).fetchall()
    for _, table, name, _ in constraints:  # 'f' sorts before 'u': foreign keys go first
        conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    restore = [definition for _, definition in indexes]
    for wanted in ("u", "f"):
        restore += [
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            for kind, table, name, definition in constraints
            if kind == wanted
        ]
    return restore


def fill(url: str, args: argparse.Namespace, end: datetime) -> dict[str, float]:
    """Write the fixture with SQL; returns seconds per phase."""
    n, feeds, days = args.articles, args.feeds, args.days
    start = end - timedelta(days=days)
    step = (end - start) / n
    topics = topics_from_seeds()
    pool = actor_pool(args.actors)
    phases: dict[str, float] = {}

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:

        def phase(name: str, *statements: tuple[str, dict[str, Any]]) -> None:
            t = time.perf_counter()
            for sql, params in statements:
                conn.execute(sql, params)
            conn.commit()
            phases[name] = time.perf_counter() - t
            print(f"  {name}: {phases[name]:.1f} s", flush=True)

        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SELECT setseed(%s)", (args.seed,))
        t = time.perf_counter()
        restore = detach(conn)
        conn.commit()
        phases["drop indexes"] = time.perf_counter() - t

        health = (
            "CASE WHEN mod(f, 40) = 7 THEN 'failing' WHEN mod(f, 25) = 3 THEN 'flaky' ELSE 'ok' END"
        )
        phase(
            "feeds",
            (
                f"""
                INSERT INTO feed (id, url, title, site_url, paused, created_at, last_fetch_at,
                    last_success_at, last_error, error_count, next_fetch_at, last_http_status,
                    interval_seconds, failure_score, health, redirect_count, full_text)
                SELECT f, 'https://outlet' || f || '.example/rss', 'Outlet ' || f,
                    'https://outlet' || f || '.example/', false,
                    %(start)s - interval '30 days', %(end)s - interval '10 minutes',
                    CASE h WHEN 'failing' THEN %(end)s - interval '3 days'
                        ELSE %(end)s - interval '10 minutes' END,
                    CASE h WHEN 'failing' THEN 'HTTP 503 Service Unavailable'
                        WHEN 'flaky' THEN 'timed out after 20 s' END,
                    CASE h WHEN 'failing' THEN 12 WHEN 'flaky' THEN 2 ELSE 0 END,
                    %(end)s + interval '20 minutes',
                    CASE h WHEN 'failing' THEN 503 ELSE 200 END,
                    1800, CASE h WHEN 'failing' THEN 0.9 WHEN 'flaky' THEN 0.3 ELSE 0 END,
                    h, 0, false
                FROM (SELECT f, {health} AS h FROM generate_series(1, %(feeds)s) AS f) AS s
                """,
                {"start": start, "end": end, "feeds": feeds},
            ),
        )
        feed = feed_of("i", feeds)
        words = "(%(words)s::text[])"
        nw = len(WORDS)
        phase(
            "articles",
            (
                f"""
                INSERT INTO article (id, url, canonical_url, content_hash, title, published,
                    author, summary, content, categories, first_seen, analyzed_at, story_id,
                    duplicate_of)
                SELECT i,
                    'https://outlet' || feed || '.example/news/' || i || '?utm_source=rss',
                    CASE WHEN r_url < 0.9
                        THEN 'https://outlet' || feed || '.example/news/' || i END,
                    encode(sha256(('bench-web-' || i)::bytea), 'hex'),
                    title,
                    seen - r_pub * interval '3 hours',
                    CASE WHEN r_auth < 0.5 THEN 'Reporter ' || (1 + mod(i, 500)) END,
                    title || '. Officials said on ' || to_char(seen, 'FMDay')
                        || ' that the ' || {words}[1 + mod(i / 3, {nw})]
                        || ' would be discussed again, according to Outlet ' || feed || '.',
                    title || '. ' || repeat('The ' || {words}[1 + mod(i / 5, {nw})]
                        || ' was reported by several outlets and officials. ', 5),
                    '[]',
                    seen,
                    seen + interval '2 minutes' + r_an * interval '10 minutes',
                    CASE WHEN r_story < 0.6 THEN (i - 1) / {STORY_WINDOW} * {STORIES_PER_WINDOW}
                        + 1 + floor({STORIES_PER_WINDOW} * power(r_k, 3))::int END,
                    CASE WHEN r_dup < 0.03 AND i > 50 THEN i - 1 - floor(r_k * 40)::int END
                FROM (
                    SELECT i, {feed} AS feed,
                        %(start)s + (i - 3 * random()) * %(step)s AS seen,
                        {words}[1 + mod(i, {nw})] || ' ' || {words}[1 + mod(i / 7, {nw})]
                            || ': ' || {words}[1 + mod(i / 11, {nw})] || ' report ' || i
                            AS title,
                        random() AS r_url, random() AS r_pub, random() AS r_auth,
                        random() AS r_an, random() AS r_story, random() AS r_k,
                        random() AS r_dup
                    FROM generate_series(1, %(n)s) AS i
                    OFFSET 0
                ) AS s
                """,
                {"start": start, "step": step, "n": n, "words": WORDS},
            ),
        )
        phase(
            "stories",
            (
                "INSERT INTO story (id, first_time, last_time, size, signature) "
                "SELECT story_id, min(first_seen), max(first_seen), count(*), '{}' "
                "FROM article WHERE story_id IS NOT NULL GROUP BY story_id ORDER BY story_id",
                {},
            ),
        )
        second = f"(1 + mod({feed_of('a.id', feeds)} + mod(a.id, {feeds - 1}), {feeds}))"
        phase(
            "sightings",
            (
                f"""
                INSERT INTO sighting (article_id, feed_id, entry_key, first_seen, last_seen)
                SELECT a.id, v.feed, v.entry_key, least(a.first_seen + v.lag, %(end)s),
                    least(a.first_seen + v.lag + interval '6 hours', %(end)s)
                FROM article AS a
                CROSS JOIN LATERAL (VALUES
                    (1, {feed_of("a.id", feeds)}, 'guid-' || a.id, interval '0'),
                    (2, {second}, 'guid-' || a.id || '-syndicated', interval '20 minutes')
                ) AS v (k, feed, entry_key, lag)
                WHERE v.k = 1 OR mod(a.id::bigint * 40503, 100) < 35
                """,
                {"end": end},
            ),
        )
        phase(
            "topics",
            (
                """
                INSERT INTO article_topic (article_id, code, label, score, seen_at)
                SELECT id, (%(codes)s::text[])[k], (%(labels)s::text[])[k], score, seen
                FROM (
                    SELECT a.id, a.first_seen AS seen,
                        1 + floor(%(ntopics)s * power(random(), 1.6))::int AS k,
                        round((0.35 + 0.65 * random())::numeric, 4)::float8 AS score
                    FROM article AS a
                    CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 3 + a.id * 0)::int)
                    OFFSET 0
                ) AS s
                ON CONFLICT DO NOTHING
                """,
                {
                    "codes": [c for c, _ in topics],
                    "labels": [label for _, label in topics],
                    "ntopics": len(topics),
                },
            ),
        )
        t = time.perf_counter()
        conn.execute(
            "CREATE TEMP TABLE bench_actor (rank int PRIMARY KEY, name text NOT NULL, "
            "type text NOT NULL, bias float8 NOT NULL)"
        )
        with conn.cursor().copy("COPY bench_actor (rank, name, type, bias) FROM STDIN") as copy:
            for row in pool:
                copy.write_row(row)
        phases["actor pool"] = time.perf_counter() - t
        reach = len(pool) ** (1 - ZIPF_S) - 1
        phase(
            "actors",
            (
                """
                INSERT INTO article_actor (article_id, name, type, sentiment, score, mentions,
                    evidence, watched, seen_at)
                SELECT s.id, p.name, p.type,
                    CASE WHEN sc < -0.15 THEN 'negative' WHEN sc > 0.15 THEN 'positive'
                        ELSE 'neutral' END,
                    sc, 1 + floor(4 * power(r_m, 2))::int,
                    CASE WHEN r_ev < 0.4 THEN json_build_array(
                        p.name || ' was named in report ' || s.id || '.')::text ELSE '[]' END,
                    p.rank <= 40, s.seen
                FROM (
                    SELECT a.id, a.first_seen AS seen,
                        least(%(actors)s, floor(power(1 + random() * %(reach)s, %(expo)s)))::int
                            AS rank,
                        random() AS r_sc, random() AS r_m, random() AS r_ev
                    FROM article AS a
                    CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 5 + a.id * 0)::int)
                    OFFSET 0
                ) AS s
                JOIN bench_actor AS p ON p.rank = s.rank
                CROSS JOIN LATERAL (SELECT round(greatest(-1, least(1,
                    p.bias + (s.r_sc - 0.5) * 1.4))::numeric, 4)::float8 AS sc) AS score
                ON CONFLICT DO NOTHING
                """,
                {"actors": len(pool), "reach": reach, "expo": 1 / (1 - ZIPF_S)},
            ),
        )
        phase(
            "sequences",
            *[
                (
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)",
                    {},
                )
                for table in ("feed", "article", "sighting", "story")
            ],
        )
        t = time.perf_counter()
        for statement in restore:
            conn.execute(statement)
        conn.commit()
        phases["indexes and constraints"] = time.perf_counter() - t
        print(f"  indexes and constraints: {phases['indexes and constraints']:.1f} s", flush=True)

    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        phases["vacuum analyze"] = time.perf_counter() - t
        print(f"  vacuum analyze: {phases['vacuum analyze']:.1f} s", flush=True)
    return phases


def table_sizes(url: str) -> list[tuple[str, int, float, float, float]]:
    """(table, rows, heap MB, indexes MB, total MB) of the filled tables."""
    found = []
    with psycopg.connect(url) as conn:
        for table in FILLED_TABLES:
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            sizes = conn.execute(
                "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass), "
                "pg_total_relation_size(%s::regclass)",
                (table, table, table),
            ).fetchone()
            assert rows is not None and sizes is not None
            mb = [s / 2**20 for s in sizes]
            found.append((table, int(rows[0]), mb[0], mb[1], mb[2]))
    return found


def pick_actors(url: str) -> list[tuple[str, int]]:
    """Actors by articles, most first (name, articles)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, count(*) FROM article_actor GROUP BY name ORDER BY 2 DESC, 1"
        ).fetchall()
    return [(str(name), int(count)) for name, count in rows]


# ------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``newsmon web`` as a subprocess on a free loopback port, token auth on."""

    def __init__(self, url: str, port: int) -> None:
        self.port = port
        self.token = secrets.token_urlsafe(32)
        self.log = tempfile.NamedTemporaryFile(prefix="bench_web_", suffix=".log", delete=False)
        env = dict(os.environ)
        env.update(
            NEWSMON_DATABASE_URL=url,
            NEWSMON_WEB_TOKEN=self.token,
            NEWSMON_SEEDS_DIR=str(ROOT / "seeds"),
        )
        self.process = subprocess.Popen(
            [str(BIN / "newsmon"), "web", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.base = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 90.0) -> float:
        t = time.perf_counter()
        while time.perf_counter() - t < timeout:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"newsmon web exited ({self.process.returncode}):\n{self.output()}"
                )
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.perf_counter() - t
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"newsmon web not healthy after {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def time_routes(
    server: Server, routes: dict[str, str], requests: int, warmup: int
) -> dict[str, dict[str, Any]]:
    """Milliseconds per request per route, round-robin, after ``warmup`` requests each."""
    headers = {"Authorization": f"Bearer {server.token}"}
    samples: dict[str, list[float]] = {label: [] for label in routes}
    sizes: dict[str, int] = {}
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
        # The dashboard's pages want a session: log in once, as a browser would.
        login = client.post("/login", data={"token": server.token, "next": "/"})
        if login.status_code != 303:
            raise SystemExit(f"POST /login: {login.status_code} {login.text[:500]}")

        def get(path: str) -> tuple[float, httpx.Response]:
            t = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - t) * 1000
            if response.status_code != 200:
                raise SystemExit(f"GET {path}: {response.status_code} {response.text[:500]}")
            return elapsed, response

        for label, path in routes.items():
            for _ in range(warmup):
                _, response = get(path)
            sizes[label] = len(response.content)
        for _ in range(requests):
            for label, path in routes.items():
                samples[label].append(get(path)[0])
    return {
        label: {"path": routes[label], "bytes": sizes[label], **summary(values)}
        for label, values in samples.items()
    }


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def rank(q: float) -> float:  # nearest rank
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p95": rank(0.95),
        "max": ordered[-1],
    }


# ------------------------------------------------------------------ explain


def explain(url: str, top: str, threshold_ms: float, repeat: int = 7) -> str:
    """Each statement the overview and the top actor's report run, with its median time
    over ``repeat`` runs (after one to warm up), and ``EXPLAIN (ANALYZE, BUFFERS)`` of
    those whose median is above ``threshold_ms``."""
    from sqlalchemy import event

    from feeds.usecases import insights
    from storage.db import make_engine
    from storage.repository import SqlStore

    engine = make_engine(url)
    captured: list[tuple[str, Any, float]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        conn.info["bench_t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        captured.append((statement, params, (time.perf_counter() - conn.info["bench_t"]) * 1000))

    store = SqlStore(engine)
    calls: dict[str, Callable[[datetime], Any]] = {
        "overview": lambda now: insights.overview(store, now, days=7),
        f"actor {top} (90 days)": lambda now: insights.actor_report(store, top, now, days=90),
    }
    out: list[str] = []
    for label, call in calls.items():
        call(datetime.now(UTC))  # warm
        totals, runs = [], []
        for _ in range(repeat):
            captured.clear()
            t = time.perf_counter()
            call(datetime.now(UTC))
            totals.append((time.perf_counter() - t) * 1000)
            runs.append([c for c in captured if c[0].lstrip().upper().startswith("SELECT")])
        out.append(
            f"## {label}: median {statistics.median(totals):.1f} ms in-process over {repeat} "
            f"runs, {len(runs[-1])} statements\n"
        )
        for i, (statement, params, _) in enumerate(runs[-1]):
            ms = statistics.median(run[i][2] for run in runs)
            if ms < threshold_ms:
                out.append(f"- {ms:.1f} ms: `{' '.join(statement.split())[:140]}…`\n")
                continue
            shown = repr(params)
            shown = shown if len(shown) < 600 else shown[:600] + "…"
            out.append(f"### {ms:.1f} ms\n\n```sql\n{statement}\n```\nparameters: {shown}\n")
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                raw.rollback()
            finally:
                raw.close()
            out.append(f"```\n{plan}\n```\n")
    engine.dispose()
    return "\n".join(out)


# ------------------------------------------------------------------ report


def markdown(
    args: argparse.Namespace,
    results: dict[str, dict[str, Any]],
    sizes: list[tuple[str, int, float, float, float]],
    phases: dict[str, float] | None,
    actors: dict[str, int],
    pg_version: str,
    data_age: timedelta,
) -> str:
    lines = [
        f"# newsmon web API latency: {args.articles:,} articles over {args.days} days",
        "",
        f"PostgreSQL {pg_version}; {os.cpu_count()} CPUs ({platform.machine()}); load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; {args.requests} requests per route after {args.warmup} warm-up, round-robin, "
        "sequential, one keep-alive connection.",
        "",
    ]
    if phases is not None:
        fill_s = sum(phases.values())
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
        lines += [f"Fill: {fill_s:.1f} s ({detail}).", ""]
    else:
        lines += ["Fill: reused an existing fixture (--reuse).", ""]
    if data_age > timedelta(hours=1):
        lines += [
            f"**Note:** the newest article is {data_age} old: the last-day windows "
            "(movers) see less than a fresh fixture would.",
            "",
        ]
    lines += [
        "| table | rows | heap MB | indexes MB | total MB |",
        "|---|---:|---:|---:|---:|",
        *[f"| {t} | {r:,} | {h:.0f} | {i:.0f} | {tot:.0f} |" for t, r, h, i, tot in sizes],
        "",
        "Actors measured: " + ", ".join(f"{name!r} ({n:,} articles)" for name, n in actors.items()),
        "",
        "| route | p50 ms | p95 ms | max ms | response KB | bar (p95 <= 200 ms) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, r in results.items():
        barred = label.startswith(("overview", "actor", "page"))
        verdict = ("pass" if r["p95"] <= BAR_MS else "**FAIL**") if barred else "-"
        lines.append(
            f"| `GET {r['path']}` | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} "
            f"| {r['bytes'] / 1024:.1f} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="newsmon_bench_web", help="database name")
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a connection that may create and drop databases",
    )
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--actors", type=int, default=3000)
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() for the fill")
    parser.add_argument("--requests", type=int, default=50, help="recorded requests per route")
    parser.add_argument("--warmup", type=int, default=3, help="unrecorded requests per route")
    parser.add_argument("--reuse", action="store_true", help="keep a database already filled")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--explain", action="store_true", help="statement times and plans")
    parser.add_argument("--explain-ms", type=float, default=20.0)
    args = parser.parse_args()
    if args.articles < STORY_WINDOW or args.feeds < 3 or args.actors <= MID_RANK:
        parser.error(f"need --articles >= {STORY_WINDOW}, --feeds >= 3, --actors > {MID_RANK}")

    url = database_url(args.admin_url, args.database)
    phases: dict[str, float] | None = None
    reuse = args.reuse and existing_fixture(args.admin_url, args.database) == fixture_tag(args)
    if not reuse:
        print(f"creating database {args.database}", flush=True)
        recreate_database(args.admin_url, args.database)
        t = time.perf_counter()
        revision = migrate(url)
        migrate_s = time.perf_counter() - t
        print(f"  migrated to {revision}: {migrate_s:.1f} s", flush=True)
        end = datetime.now(UTC).replace(microsecond=0)
        print(f"filling {args.articles:,} articles over {args.days} days", flush=True)
        phases = {"migrate": migrate_s, **fill(url, args, end)}
        print(f"  fill total: {sum(phases.values()):.1f} s", flush=True)
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            tag = json.dumps(fixture_tag(args)).replace("'", "''")
            conn.execute(f"COMMENT ON DATABASE \"{args.database}\" IS '{tag}'")
    else:
        print(f"reusing database {args.database}", flush=True)

    with psycopg.connect(url) as conn:
        newest = conn.execute("SELECT max(first_seen), version() FROM article").fetchone()
    assert newest is not None
    data_age = datetime.now(UTC) - newest[0]
    pg_version = str(newest[1]).split()[1]
    sizes = table_sizes(url)
    ranked = pick_actors(url)
    top, mid = ranked[0], ranked[min(MID_RANK, len(ranked)) - 1]
    routes = {
        "overview": "/api/v1/overview",
        "actor top": f"/api/v1/actors/{quote(top[0], safe='')}?days=90",
        "actor mid": f"/api/v1/actors/{quote(mid[0], safe='')}?days=90",
        "articles": "/api/v1/articles?limit=50",
        "articles actor": f"/api/v1/articles?actor={quote(top[0], safe='')}&limit=50",
        # the same two answers as pages: the HTML overview and actor page with their charts
        "page overview": "/",
        "page actor top": f"/actors/{quote(top[0], safe='')}?days=90",
    }

    server = Server(url, free_port())
    try:
        ready = server.wait_ready()
        print(f"newsmon web ready on port {server.port} in {ready:.1f} s", flush=True)
        results = time_routes(server, routes, args.requests, args.warmup)
    finally:
        server.stop()

    report = markdown(
        args, results, sizes, phases, {top[0]: top[1], mid[0]: mid[1]}, pg_version, data_age
    )
    print()
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    if args.explain:
        print(explain(url, top[0], args.explain_ms))
    if not args.keep:
        drop_database(args.admin_url, args.database)
        print(f"dropped database {args.database}")


if __name__ == "__main__":
    main()
