"""The embedded pipeline end to end: real HTTP on loopback, real SQLite, real SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.digest.render import recipient_message_id
from feeds.models import SubscriptionSpec
from tests.feedserver import pub_date, rss
from tests.support import SettableClock, make_settings
from worker.bootstrap import Container, build_container


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))


def _container(tmp_path, clock: SettableClock, smtp_port: int = 1) -> Container:  # type: ignore[no-untyped-def]
    settings = make_settings(
        f"sqlite:///{tmp_path / 'e2e.db'}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        mail_from="newsmon <digest@newsmon.example>",
        fetch_concurrency=16,
    )
    return build_container(settings, clock=clock)  # type: ignore[arg-type]


def _story(n: int, feed: int) -> dict[str, str]:
    return {
        "title": f"Report {n} from desk {feed}",
        "link": f"https://desk{feed}.example/news/{n}",
        "guid": f"desk{feed}-{n}",
        "description": f"<p>Desk {feed} files story number {n}. Markets moved on item {n}.</p>",
        "pubDate": pub_date(n / 24),
    }


def test_two_hundred_feeds_stored_once_then_conditional(tmp_path, server, clock) -> None:
    feeds, per_feed = 200, 50
    for f in range(feeds):
        server.state.put(f"/feed{f}.xml", rss(f"Desk {f}", [_story(n, f) for n in range(per_feed)]))
    c = _container(tmp_path, clock)
    with c.store.transaction() as repo:
        for f in range(feeds):
            repo.add_feed(server.state.url(f"/feed{f}.xml"), None, clock.now())

    first = c.pipeline.poll_pass(c.pipeline.sources())
    assert first.count("ok") == feeds
    assert first.new_articles == feeds * per_feed
    assert first.analyzed == feeds * per_feed
    with c.store.transaction() as repo:
        assert repo.count_articles() == feeds * per_feed
        assert repo.pending_analysis(limit=1) == []

    server.state.log.clear()
    clock.current += timedelta(hours=1)
    second = c.pipeline.poll_pass(c.pipeline.sources())
    assert second.count("not_modified") == feeds
    assert second.new_articles == 0
    # The server's own log proves every request of the second pass was conditional.
    assert len(server.state.log) == feeds
    assert all(entry.if_none_match and entry.status == 304 for entry in server.state.log)
    with c.store.transaction() as repo:
        assert repo.count_articles() == feeds * per_feed
        listed = repo.list_feeds()
    feed = listed[0]
    assert feed.etag and feed.last_modified and feed.last_success_at == clock.current
    # The unchanged feeds' schedules are written in batches: none may be left out.
    assert all(f.last_fetch_at == clock.current for f in listed)
    assert all(f.next_fetch_at and f.next_fetch_at > clock.current for f in listed)
    c.close()


def test_article_carried_by_two_feeds_is_stored_once(tmp_path, server, clock) -> None:
    shared = {
        "title": "Kremlin spokesman says no one likes Russia",
        "link": "https://wire.example/story/1",
        "guid": "wire-1",
        "description": "The Kremlin spokesman said no one likes Russia. Ukraine welcomed support.",
        "pubDate": pub_date(0),
    }
    tracked = dict(
        shared, link=shared["link"] + "?utm_source=rss&utm_medium=feed#top", guid="outlet-b-77"
    )
    a = server.state.put("/a.xml", rss("Outlet A", [shared, _story(1, 1)]))
    b = server.state.put("/b.xml", rss("Outlet B", [tracked, _story(2, 2)]))
    c = _container(tmp_path, clock)
    with c.store.transaction() as repo:
        repo.add_feed(a, None, clock.now())
        repo.add_feed(b, None, clock.now())
    report = c.pipeline.poll_pass(c.pipeline.sources())
    assert report.new_articles == 3
    with c.store.transaction() as repo:
        articles = {a.title: a for a in repo.iter_articles()}
    both = articles[shared["title"]]
    assert sorted(f.url for f in both.feeds) == sorted([a, b])
    assert both.url in (shared["link"], tracked["link"])  # whichever feed was stored first
    assert any(actor.name == "Russia" for actor in both.actors)
    c.close()


def test_broken_feeds_are_reported_and_do_not_stop_the_pass(tmp_path, server, clock) -> None:
    good = server.state.put("/good.xml", rss("Good", [_story(1, 1)]))
    garbage = server.state.put("/garbage.xml", b"\x00\x01 this is not a feed at all")
    missing = server.state.url("/missing.xml")
    c = _container(tmp_path, clock)
    with c.store.transaction() as repo:
        ids = {u: repo.add_feed(u, None, clock.now()).id for u in (good, garbage, missing)}
    report = c.pipeline.poll_pass(c.pipeline.sources())
    by_url = {r.url: r for r in report.feeds}
    assert by_url[good].status == "ok"
    assert by_url[garbage].status == "failed"
    assert by_url[missing].status == "failed" and "404" in (by_url[missing].error or "")
    with c.store.transaction() as repo:
        broken = repo.get_feed(ids[missing])
        assert broken.error_count == 1 and "404" in (broken.last_error or "")
        assert broken.last_fetch_at == clock.now() and broken.last_success_at is None
        assert repo.count_articles() == 1
    c.close()


# Three unrelated events, so story grouping keeps them as three digest entries.
EVENTS = (
    ("Danube ferry halted", "Flooding closed the Danube ferry at Vukovar after rainfall."),
    ("Freiburg signs keeper", "The Bundesliga club Freiburg signed a goalkeeper from Norway."),
    ("Taiwan chip exports jump", "Semiconductor exports from Taiwan rose, customs said."),
)


def _distinct(n: int) -> dict[str, str]:
    title, text = EVENTS[n]
    return dict(_story(n, 1), title=title, description=text)


def test_digest_reaches_smtp_once_per_period(tmp_path, server, clock, smtp) -> None:
    inbox, port = smtp
    url = server.state.put("/a.xml", rss("Outlet A", [_distinct(n) for n in range(3)]))
    c = _container(tmp_path, clock, smtp_port=port)
    with c.store.transaction() as repo:
        repo.add_feed(url, None, clock.now())
        repo.add_subscription(
            SubscriptionSpec(name="morning", emails=("analyst@example.org",), at="08:00"),
            clock.now(),
        )
    c.pipeline.poll_pass(c.pipeline.sources())  # articles first seen at 07:00

    clock.current = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the 08:00 period has closed
    first = c.pipeline.send_digest("morning")
    second = c.pipeline.send_digest("morning")
    assert (first.status, first.articles) == ("sent", 3)
    assert second.status == "already_sent"
    assert c.pipeline.send_due_digests() == []
    assert len(inbox.received) == 1
    received = inbox.received[0]
    message = received.message
    assert received.rcpt_tos == ["analyst@example.org"]
    # Each recipient's copy has its own Message-ID, fixed by (subscription, period, address).
    assert message["Message-ID"] == recipient_message_id(first.message_id, "analyst@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html.get_content()
    assert all(title in body for title, _ in EVENTS)
    with c.store.transaction() as repo:
        runs = repo.list_digest_runs()
    assert [(r.period_key, r.status, r.article_count) for r in runs] == [
        (first.period.key, "sent", 3)
    ]
    c.close()


def test_failed_smtp_is_recorded_and_retried_next_time(tmp_path, server, clock, smtp) -> None:
    inbox, port = smtp
    url = server.state.put("/a.xml", rss("Outlet A", [_story(1, 1)]))
    c = _container(tmp_path, clock, smtp_port=1)  # nothing listens on port 1
    with c.store.transaction() as repo:
        repo.add_feed(url, None, clock.now())
        repo.add_subscription(SubscriptionSpec(name="m", emails=("a@example.org",)), clock.now())
    c.pipeline.poll_pass(c.pipeline.sources())
    clock.current = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    failed = c.pipeline.send_digest("m")
    assert failed.status == "failed" and failed.error
    c.close()

    c = _container(tmp_path, clock, smtp_port=port)  # the mail server is back
    retried = c.pipeline.send_digest("m")
    assert retried.status == "sent" and retried.message_id == failed.message_id
    assert len(inbox.received) == 1
    c.close()
