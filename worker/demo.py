"""``newsmon demo``: the whole pipeline, offline, on the corpus in ``seeds/demo/``.

The demo serves ``seeds/demo/`` over HTTP on the loopback interface so that the real
fetcher runs (conditional GET included), polls twice, and writes a digest and an export
next to a fresh SQLite database. Nothing leaves the machine.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from feeds.errors import ConfigError
from feeds.formats.opml import parse_opml
from feeds.usecases import feeds as feed_list
from feeds.usecases import subscriptions
from feeds.usecases.stories import stored_articles
from worker.admin import export_articles
from worker.bootstrap import build_container
from worker.cli.output import console, print_pass
from worker.mailer import validate_address
from worker.settings import load_settings


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def run_demo(directory: Path) -> None:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "newsmon.db"
    for stale in (db, db.with_name("newsmon.db-wal"), db.with_name("newsmon.db-shm")):
        stale.unlink(missing_ok=True)  # the demo starts from nothing every time
    # Every demo outlet is served from one loopback host: no politeness spacing needed.
    settings = load_settings(
        database_url=f"sqlite:///{db}", allow_private_networks=True, host_min_spacing=0.0
    )
    corpus = settings.seeds_dir / "demo"
    if not (corpus / "feeds.opml").is_file():
        raise ConfigError(f"the demo corpus is missing: {corpus / 'feeds.opml'} not found")
    c = build_container(settings)
    try:
        with serve_directory(corpus) as base:
            now = c.pipeline.clock.now()
            demo_feeds = [
                feed_list.FeedToAdd(base + feed.url.lstrip("/"), feed.title)
                for feed in parse_opml((corpus / "feeds.opml").read_bytes())
            ]
            feed_list.add_feeds(c.store, now, demo_feeds, keep_existing=False)
            for label in (
                "first pass (everything is new)",
                "second pass (conditional requests, nothing new)",
            ):
                console.print(f"{label}:", markup=False)
                started = time.monotonic()
                report = c.pipeline.poll_pass(c.pipeline.sources())
                print_pass(report, time.monotonic() - started)
        subscriptions.add_subscription(
            c.store,
            c.pipeline.clock.now(),
            validate_address,
            "demo",
            ["analyst@example.com"],
            "daily",
            "08:00",
            "UTC",
            "monday",
            [],
            [],
        )
        preview = c.pipeline.preview_digest("demo")
        # People open this file in a browser, not a mail client: the charts travel inside it.
        (directory / "digest.html").write_text(preview.html_for_file(), encoding="utf-8")
        (directory / "digest.txt").write_text(preview.text, encoding="utf-8")
        exported = export_articles(c, None, directory / "articles.jsonl")
        _print_findings(c)
        console.print(
            f"\n{preview.subject}\n"
            f"digest:   {directory / 'digest.html'} (plain text: digest.txt)\n"
            f"export:   {directory / 'articles.jsonl'} ({exported} articles)\n"
            f"database: {db}",
            markup=False,
        )
    finally:
        c.close()


def _print_findings(c: Any) -> None:
    articles = stored_articles(c.store)
    shared = [a for a in articles if len(a.feeds) > 1]
    console.print(
        f"\nstored {len(articles)} articles; {len(shared)} of them were carried by more than "
        "one outlet and stored once",
        markup=False,
    )
    verdicts: dict[str, Counter[str]] = {}
    for article in articles:
        for actor in (a for a in article.actors if a.watched):  # discovered names aside
            verdicts.setdefault(actor.name, Counter())[actor.sentiment] += 1
    top = sorted(verdicts.items(), key=lambda kv: -sum(kv[1].values()))[:6]
    for name, counts in top:
        parts = ", ".join(f"{counts[s]} {s}" for s in ("negative", "neutral", "positive"))
        console.print(f"  {name}: {parts}", markup=False)
