"""Reading what was stored: the largest stories (``newsmon stories list``), the articles."""

from __future__ import annotations

from datetime import datetime

from feeds.models import StoredArticle, StorySummary
from feeds.ports import Store


def largest_stories(store: Store, *, since: datetime | None, limit: int) -> list[StorySummary]:
    with store.transaction() as repo:
        return repo.list_stories(since=since, limit=limit)


def stored_articles(store: Store, *, since: datetime | None = None) -> list[StoredArticle]:
    """Every stored article first seen since ``since`` (all if None), oldest first."""
    with store.transaction() as repo:
        return list(repo.iter_articles(since=since))
