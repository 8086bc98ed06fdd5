"""Many feeds of one host through the Celery workers, with real politeness (issue 21).

    .venv/bin/python bench/celery_one_host.py [--feeds 300] [--spacing 1.0] [--concurrency 2]

An outlet's section feeds share one host, so the per-host limits (by default two requests
at a time, one second apart) set the pace of a pass: 300 feeds take at least 300 s
whatever the workers do. What this measures is what the workers do meanwhile: how many
poll tasks they execute for those 300 polls (a task that finds its host busy and comes
back later is one more execution), whether the server saw each feed once and the
requests spaced as promised, and the workers' CPU.

Set-up: a loopback HTTP server serves ``--feeds`` small RSS feeds (ETag, 304) and logs
each request's arrival; a fresh PostgreSQL database and a flushed Redis database; two
Celery worker processes on the ingest queue (``newsmon worker --concurrency 2 -Q ingest
--loglevel INFO``); then ``poll --all --enqueue --wait --defer-analysis``. Executions
are counted from the worker's log ("Task newsmon.poll_feeds[...] succeeded ... {...}"),
with what each returned (feeds polled, of them deferred).

Needs PostgreSQL (``--database-url``, default the local test server) and Redis
(``--redis-url``, default db 13 of the local server, flushed first).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds  # noqa: E402

BIN = Path(sys.executable).parent
SUCCEEDED = re.compile(r"Task (newsmon\.poll_feeds?)\[[^\]]+\] succeeded in [0-9.]+s: (\{.*\})")


def feed_xml(n: int) -> bytes:
    items = "".join(
        f"<item><title>Section {n} story {k}</title><link>https://outlet.example/{n}/{k}</link>"
        f"<guid>s{n}-{k}</guid><pubDate>Mon, 07 Dec 2026 0{k}:00:00 GMT</pubDate>"
        f"<description>Report {k} of section {n}: the council met &amp; voted.</description>"
        "</item>"
        for k in range(5)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Section {n}</title><link>https://outlet.example/{n}</link>{items}"
        "</channel></rss>"
    ).encode()


class Server:
    """Serves /s{n}.xml with an ETag; logs (path, arrival time)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, float]] = []
        lock = threading.Lock()
        log = self.log

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    log.append((self.path, time.monotonic()))
                m = re.fullmatch(r"/s(\d+)\.xml", self.path)
                if not m:
                    self.send_error(404)
                    return
                etag = f'"s{m.group(1)}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = feed_xml(int(m.group(1)))
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/s{n}.xml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=300)
    ap.add_argument("--spacing", type=float, default=1.0, help="NEWSMON_HOST_MIN_SPACING")
    ap.add_argument("--concurrency", type=int, default=2, help="NEWSMON_HOST_MAX_CONCURRENCY")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = ap.parse_args()

    import redis
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    server = Server()
    pg = make_url(args.database_url)
    name = f"newsmon_onehost_{os.getpid()}"
    admin = create_engine(pg.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(args.redis_url).flushdb()
    env = dict(os.environ)
    env.update(
        NEWSMON_DATABASE_URL=pg.set(database=name).render_as_string(hide_password=False),
        NEWSMON_BROKER_URL=args.redis_url,
        NEWSMON_ALLOW_PRIVATE_NETWORKS="true",
        NEWSMON_HOST_MIN_SPACING=str(args.spacing),
        NEWSMON_HOST_MAX_CONCURRENCY=str(args.concurrency),
        NEWSMON_HOST_LIMITER="redis",
        NEWSMON_SCHEDULER_TICK_SECONDS="3600",
        NEWSMON_SEEDS_DIR=str(ROOT / "seeds"),
    )
    newsmon = str(BIN / "newsmon")
    work = Path(tempfile.mkdtemp(prefix="onehost-"))
    opml = work / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        + "".join(f'<outline type="rss" xmlUrl="{server.url(n)}"/>' for n in range(args.feeds))
        + "</body></opml>"
    )
    subprocess.run(
        [newsmon, "feeds", "import", str(opml)], env=env, check=True, capture_output=True
    )
    log_path = work / "worker.log"
    with log_path.open("wb") as log_file:
        worker = subprocess.Popen(
            [newsmon, "worker", "--concurrency", "2", "-Q", "ingest", "--loglevel", "INFO"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(4)  # connected before the pass is queued
        kids = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(worker.pid)], capture_output=True, text=True
        ).stdout.split()
        pids = [worker.pid, *map(int, kids)]
        cpu0, started = cpu_seconds(pids), time.monotonic()
        timeout = args.feeds * args.spacing / max(1, args.concurrency if not args.spacing else 1)
        subprocess.run(
            [
                newsmon,
                "poll",
                "--all",
                "--enqueue",
                "--wait",
                "--defer-analysis",
                "--timeout",
                str(int(timeout + 300)),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.monotonic() - started
        cpu = cpu_seconds(pids) - cpu0
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    executions = []
    for line in log_path.read_text(errors="replace").splitlines():
        m = SUCCEEDED.search(line)
        if m:
            executions.append((m.group(1), ast.literal_eval(m.group(2))))
    polled = sum(int(r.get("feeds", 1)) for _, r in executions)
    deferred = sum(
        int(r.get("deferred", 0)) + (r.get("status") == "deferred") for _, r in executions
    )
    fetches = [t for path, t in server.log if path.startswith("/s")]
    gaps = [b - a for a, b in zip(fetches, fetches[1:], strict=False)]
    print(
        f"feeds: {args.feeds} on one host, spacing {args.spacing} s, {args.concurrency} at a time"
    )
    print(
        f"pass wall: {wall:.1f} s; worker CPU: {cpu:.2f} s "
        f"({1000 * cpu / args.feeds:.1f} ms a feed)"
    )
    print(f"task executions: {len(executions)} (feed polls in them: {polled})")
    print(
        f"deferred (a feed handed back and queued again): {deferred} "
        f"({deferred / args.feeds:.2f} a feed)"
    )
    print(
        f"requests the server saw: {len(fetches)} for {args.feeds} feeds; "
        f"smallest gap between starts {min(gaps) if gaps else 0:.3f} s"
    )
    print(f"load average {os.getloadavg()}; worker log {log_path}")


if __name__ == "__main__":
    main()
