"""``newsmon export``: stored articles as JSON Lines (the shape is :mod:`feeds.formats.export`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from feeds.formats.export import article_json
from feeds.ports import Store


def export_articles(store: Store, since: datetime | None, write: Callable[[str], object]) -> int:
    """Write each article first seen since ``since`` (all if None) as one JSON line,
    oldest first, while reading them; returns how many were written."""
    count = 0
    with store.transaction() as repo:
        for article in repo.iter_articles(since=since):
            write(json.dumps(article_json(article), ensure_ascii=False) + "\n")
            count += 1
    return count
