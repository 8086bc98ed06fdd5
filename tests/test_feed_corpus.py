"""feedparser's own test corpus (2,108 files), served over HTTP and polled: no crash, and
every feed ends with a status a user can read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.hostile_server import HostileServer
from tests.shared_data import shared_file
from tests.support import make_settings
from worker.bootstrap import build_container

pytestmark = pytest.mark.slow


def test_every_corpus_file_gets_a_status(tmp_path: Path) -> None:
    root = shared_file("data/feedparser-corpus/LICENSE").parent
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 2000
    server = HostileServer("127.0.0.8")
    try:
        for n, path in enumerate(files):
            server.state.documents[f"/c/{n}"] = path.read_bytes()
        settings = make_settings(
            f"sqlite:///{tmp_path / 'corpus.db'}", fetch_concurrency=16, fetch_deadline=10.0
        )
        c = build_container(settings)
        with c.store.transaction() as repo:
            for n in range(len(files)):
                repo.add_feed(server.url(f"/c/{n}"), None, c.pipeline.clock.now())
        report = c.pipeline.poll_pass(c.pipeline.sources(), analyze=False)
        with c.store.transaction() as repo:
            feeds = repo.list_feeds()
        c.close()
    finally:
        server.close()

    assert len(report.feeds) == len(files)
    assert all(f.last_fetch_at is not None and f.next_fetch_at is not None for f in feeds)
    statuses = Counter(r.status for r in report.feeds)
    assert set(statuses) <= {"ok", "failed", "not_modified"}
    # Failures are parse failures with a one-line reason, never a crash or a blank.
    failed = [f for f in feeds if f.health == "failing"]
    assert all(f.last_error and "\n" not in f.last_error for f in failed)
    assert statuses["ok"] > len(files) * 0.8, statuses
