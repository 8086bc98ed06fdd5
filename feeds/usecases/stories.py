"""Reading stories: the largest ones, for ``newsmon stories list``."""

from __future__ import annotations

from datetime import datetime

from feeds.models import StorySummary
from feeds.ports import Store


def largest_stories(store: Store, *, since: datetime | None, limit: int) -> list[StorySummary]:
    with store.transaction() as repo:
        return repo.list_stories(since=since, limit=limit)
