"""Helpers shared by the end-to-end tests: a settable clock and settings for a test run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from worker.settings import REPO_ROOT, Settings, load_settings


@dataclass
class SettableClock:
    current: datetime

    def now(self) -> datetime:
        return self.current


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "allow_private_networks": True,  # the test servers listen on 127.0.0.1
        "seeds_dir": Path(REPO_ROOT / "seeds"),
        "fetch_deadline": 20.0,
        # Digests sign unsubscribe links and refuse to send without a real secret.
        "unsubscribe_secret": "test-secret-9f3c2a7b1e5d4c6a",
        "public_url": "https://news.example.org/newsmon",
        # Every test server is one host (127.0.0.1): politeness tests set their own limits.
        "host_min_spacing": 0.0,
        "host_max_concurrency": 16,
        # Ingest in the test's own process unless a test asks for worker processes
        # (tests/test_ingest_processes.py): a pool per container would outlive the test.
        "ingest_processes": 1,
    }
    values.update(overrides)
    return load_settings(**values)
