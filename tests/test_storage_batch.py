"""add_articles (one feed's new entries in a few statements) against add_article one by one.

Runs on SQLite and PostgreSQL (the ``store`` fixture, see tests/conftest.py).
"""

from __future__ import annotations

from datetime import timedelta

from feeds.models import ArticleRef
from storage.repository import SqlStore
from tests.test_storage import T0, add_feeds, article


class _Rollback(Exception):
    pass


def _shape(refs: list[ArticleRef]) -> list[tuple[bool, int]]:
    """Created flags and which refs share an id (ids themselves differ between runs)."""
    first: dict[int, int] = {}
    return [(r.created, first.setdefault(r.id, n)) for n, r in enumerate(refs)]


def test_batch_insert_matches_single_inserts(store: SqlStore) -> None:
    a, b = add_feeds(store, "https://a.example/", "https://b.example/")
    with store.transaction() as repo:
        earlier = repo.add_article(article(a, "old", canonical="https://news.example/old"))
    later = T0 + timedelta(minutes=5)
    batch = [
        article(b, "n1", canonical="https://news.example/1"),
        # Same canonical URL as n1, other hash: n1's article.
        article(b, "n2", canonical="https://news.example/1", content_hash="x2"),
        # Same hash as n1, no canonical URL: n1's article.
        article(b, "n3", content_hash="hash-n1"),
        # Both keys equal to n1's under another entry key.
        article(b, "n4", canonical="https://news.example/1", content_hash="hash-n1"),
        # Already stored before this batch (by feed a): not created, same id.
        article(b, "n5", canonical="https://news.example/old", content_hash="y5", seen_at=later),
        # Plain new ones, one without a canonical URL.
        article(b, "n6", canonical="https://news.example/6"),
        article(b, "n7"),
        # Conflicts on the hash of n6 but brings a canonical URL of its own.
        article(b, "n8", canonical="https://news.example/8", content_hash="hash-n6"),
    ]
    try:
        with store.transaction() as repo:
            expected = [repo.add_article(x) for x in batch]
            expected_count = repo.count_articles()
            raise _Rollback
    except _Rollback:
        pass
    with store.transaction() as repo:
        got = repo.add_articles(batch)
        assert repo.count_articles() == expected_count == 4
        assert repo.known_entry_keys(b, [x.entry_key for x in batch]) == {
            x.entry_key for x in batch
        }
    assert _shape(got) == _shape(expected)
    assert got[4].id == earlier.id and not got[4].created
    assert [r.created for r in got] == [True, False, False, False, False, True, True, False]
    with store.transaction() as repo:
        # Seen again: nothing new, the same ids, the sightings upserted.
        again = repo.add_articles(batch)
        assert repo.add_articles([]) == []
    assert [r.id for r in again] == [r.id for r in got]
    assert not any(r.created for r in again)
