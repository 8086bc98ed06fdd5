"""Benchmark: 1,000 feeds spread over 20 hosts, polled within per-host limits.

Twenty loopback addresses (127.0.0.21 … 127.0.0.40) are twenty hosts; each serves 50 feeds
and answers after a fixed delay, like a real server under load. The full embedded pass
runs (fetch, parse, deduplicate, store in SQLite; analysis off) three ways:

* ``local``     the in-process limiter (embedded mode);
* ``redis``     the Redis limiter (what Celery workers share), same limits;
* ``unlimited`` no politeness at all, for comparison.

The servers record, per host, the most requests they saw in flight at once and the
smallest gap between two request starts, so the limits are checked from the publisher's
side. The ideal time under the limits is max(feeds per host × spacing, feeds per host ×
delay / concurrency); the report gives the pass time as a ratio to it.

    .venv/bin/python bench/politeness.py [--fetch-only] [--redis-url redis://127.0.0.1:6379/3]

``--fetch-only`` runs the fetch phase alone (no parsing, no database), which shows the
limiter's own cost; the full pass is bounded by ingest on one thread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feeds.fetch.politeness import LocalHostLimiter, host_key, run_politely  # noqa: E402
from feeds.ports import HostLimiter  # noqa: E402
from tests.hostile_server import HostileServer, State, rss_items  # noqa: E402
from tests.support import make_settings  # noqa: E402
from worker.bootstrap import build_container  # noqa: E402
from worker.celery.host_limiter import RedisHostLimiter  # noqa: E402


def run(kind: str, args: argparse.Namespace) -> dict[str, float]:
    state = State(delay=args.delay)
    hosts = [f"127.0.0.{21 + n}" for n in range(args.hosts)]
    servers = [HostileServer(h, state) for h in hosts]
    per_host = args.feeds // args.hosts
    for i in range(per_host):
        state.documents[f"/f{i}.xml"] = rss_items(f"f{i}", 5)
    limiter: HostLimiter
    if kind == "local":
        limiter = LocalHostLimiter(args.concurrency, args.spacing)
    elif kind == "redis":
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        limiter = RedisHostLimiter(
            args.redis_url, max_concurrent=args.concurrency, min_spacing=args.spacing
        )
    else:
        limiter = LocalHostLimiter(10_000, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(
            f"sqlite:///{tmp}/bench.db", fetch_concurrency=args.workers, fetch_deadline=30.0
        )
        c = build_container(settings)
        c.pipeline.host_limiter = limiter
        with c.store.transaction() as repo:
            for s in servers:
                for i in range(per_host):
                    repo.add_feed(s.url(f"/f{i}.xml"), None, c.pipeline.clock.now())
        sources = c.pipeline.sources()
        started = time.monotonic()
        if args.fetch_only:
            fetched = list(
                run_politely(
                    sources,
                    host_of=lambda s: host_key(s.url),
                    limiter=limiter,
                    work=c.pipeline._fetch,
                    workers=args.workers,
                )
            )
            elapsed = time.monotonic() - started
            ok = sum(1 for _, r in fetched if not isinstance(r, Exception))
            total = len(fetched)
        else:
            report = c.pipeline.poll_pass(sources, analyze=False)
            elapsed = time.monotonic() - started
            ok, total = report.count("ok"), len(report.feeds)
            for r in report.feeds:
                if r.status == "failed":
                    print(f"  failed: {r.url}: {r.error}", file=sys.stderr)
        c.close()
    for s in servers:
        s.close()
    gaps = []
    for h in hosts:
        starts = sorted(state.starts.get(h, []))
        gaps.append(min(b - a for a, b in zip(starts, starts[1:], strict=False)))
    ideal = max(per_host * args.spacing, per_host * args.delay / args.concurrency)
    return {
        "feeds": total,
        "ok": ok,
        "seconds": elapsed,
        "feeds_per_s": total / elapsed,
        "max_in_flight": max(state.max_in_flight.values()),
        "min_gap": min(gaps),
        "ideal": ideal,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.05, help="server delay, seconds")
    parser.add_argument("--concurrency", type=int, default=2, help="per-host limit")
    parser.add_argument("--spacing", type=float, default=0.1, help="per-host spacing, s")
    parser.add_argument("--workers", type=int, default=48, help="fetch threads")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--kinds", default="local,redis,unlimited")
    parser.add_argument(
        "--fetch-only", action="store_true", help="fetch without parsing or storing"
    )
    args = parser.parse_args()
    print(
        f"{args.feeds} feeds on {args.hosts} hosts, server delay {args.delay * 1000:.0f} ms, "
        f"limit {args.concurrency} per host, spacing {args.spacing * 1000:.0f} ms, "
        f"{args.workers} fetch threads{'; fetch only' if args.fetch_only else '; full pass'}"
    )
    print(
        "| limiter | feeds ok | pass (s) | feeds/s | max in flight per host | "
        "min gap per host (ms) | pass / ideal |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        r = run(kind, args)
        print(
            f"| {kind} | {r['ok']:.0f}/{r['feeds']:.0f} | {r['seconds']:.1f} | "
            f"{r['feeds_per_s']:.0f} | {r['max_in_flight']:.0f} | {r['min_gap'] * 1000:.0f} | "
            f"{r['seconds'] / r['ideal']:.2f} |"
        )


if __name__ == "__main__":
    main()
