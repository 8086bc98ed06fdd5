"""Feeds with broken GUIDs fall back to link/hash identity (pure decision and end to end)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from feeds.dedup.guids import guid_problem
from feeds.dedup.keys import entry_key
from feeds.models import ParsedEntry
from tests.feedserver import RunningServer, pub_date, rss
from tests.support import SettableClock, make_settings
from worker.bootstrap import build_container


def _entry(guid: str | None, link: str | None) -> ParsedEntry:
    return ParsedEntry(guid, link, "t", None, None, "s", "c")


def test_same_guid_for_different_links_is_broken() -> None:
    entries = [_entry("same", "https://x.example/1"), _entry("same", "https://x.example/2")]
    assert "same GUID" in (guid_problem(entries, {}) or "")
    # The same link twice under one GUID (tracking noise differs) is fine.
    repeated = [_entry("g", "https://x.example/1?utm_source=a"), _entry("g", "https://x.example/1")]
    assert guid_problem(repeated, {}) is None


def test_guids_that_change_between_fetches_are_broken() -> None:
    links = [f"https://x.example/{n}" for n in range(4)]
    before = {link: {f"guid:old-{n}"} for n, link in enumerate(links)}
    fresh = [_entry(f"new-{n}", link) for n, link in enumerate(links)]
    assert "change between fetches" in (guid_problem(fresh, before) or "")
    # One re-issued id among stable ones is an edit, not a broken feed.
    stable = [_entry(f"old-{n}", link) for n, link in enumerate(links[:3])]
    assert guid_problem([*stable, _entry("new-3", links[3])], before) is None
    # Links first carried without a guid (link keys) do not count as churn.
    assert guid_problem(fresh, {link: {f"link:{link}"} for link in links}) is None


def test_entry_key_without_guid_uses_the_link() -> None:
    entry = _entry("g", "https://X.example/a?utm_source=rss")
    assert entry_key(entry) == "guid:g"
    assert entry_key(entry, use_guid=False) == "link:https://x.example/a"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = RunningServer()
    yield running
    running.close()


def _items(guid_of, n: int) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return [
        {
            "title": f"Story {i}",
            "link": f"https://outlet.example/news/{i}",
            "guid": guid_of(i),
            "description": f"<p>Story number {i} is about the harbour of Lisk and item {i}.</p>",
            "pubDate": pub_date(i / 24),
        }
        for i in range(n)
    ]


def test_pipeline_keeps_every_entry_of_a_feed_with_one_guid(tmp_path, server) -> None:
    clock = SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    url = server.state.put("/same.xml", rss("Same", _items(lambda i: "constant", 5)))
    c = build_container(make_settings(f"sqlite:///{tmp_path / 'g.db'}"), clock=clock)  # type: ignore[arg-type]
    try:
        with c.store.transaction() as repo:
            feed = repo.add_feed(url, None, clock.now())
        report = c.pipeline.poll_feed(feed.id)
        assert len(report.new_article_ids) == 5
        with c.store.transaction() as repo:
            assert repo.guids_broken(feed.id)
            assert repo.count_articles() == 5
    finally:
        c.close()


def test_pipeline_stops_trusting_guids_that_change(tmp_path, server) -> None:
    clock = SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    c = build_container(make_settings(f"sqlite:///{tmp_path / 'g.db'}"), clock=clock)  # type: ignore[arg-type]
    try:
        url = server.state.put("/churn.xml", rss("Churn", _items(lambda i: f"v1-{i}", 4)))
        with c.store.transaction() as repo:
            feed = repo.add_feed(url, None, clock.now())
        assert len(c.pipeline.poll_feed(feed.id).new_article_ids) == 4
        with c.store.transaction() as repo:
            assert not repo.guids_broken(feed.id)
        for version in (2, 3):
            clock.current += timedelta(hours=1)
            server.state.put(
                "/churn.xml", rss("Churn", _items(lambda i, v=version: f"v{v}-{i}", 4))
            )
            assert c.pipeline.poll_feed(feed.id).new_article_ids == ()
        with c.store.transaction() as repo:
            assert repo.guids_broken(feed.id)
            assert repo.count_articles() == 4
            links = [f"link:https://outlet.example/news/{i}" for i in range(4)]
            assert repo.known_entry_keys(feed.id, links) == set(links)
    finally:
        c.close()
