"""JSON Feed 1.0 and 1.1, RSS scheduling hints and the entity guard, through parse_feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from feeds.errors import ParseError, UnsafeDocument
from feeds.fetch.discover import feed_links
from feeds.parse import check_entities, parse_feed

JSON_FEED_1_0 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "Harbour Wire",
    "home_page_url": "https://wire.example/",
    "feed_url": "https://wire.example/feed.json",
    "author": {"name": "Desk"},
    "items": [
        {
            "id": 2,
            "url": "/2026/ferry",
            "title": "Ferry line approved",
            "content_html": "<p>The council <b>approved</b> it.</p><p>Work starts in May.</p>",
            "summary": "Approved.",
            "date_published": "2026-11-20T10:00:00+01:00",
            "author": {"name": "A. Reporter"},
            "tags": ["transport", "council", "transport"],
        },
        {"id": "no-title", "content_text": "Only text\n\nin two paragraphs."},
        {"id": "empty"},
        "not an object",
    ],
}

JSON_FEED_1_1 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Lakeside",
    "language": "en",
    "items": [
        {
            "id": "l1",
            "external_url": "https://elsewhere.example/story",
            "title": "Storm warning",
            "content_text": "Winds up to 90 km/h.",
            "date_modified": "2026-11-21T08:30:00Z",
            "authors": [{"name": "Met desk"}, {"name": "  "}, {"url": "https://x.example"}],
        }
    ],
}


def test_json_feed_1_0() -> None:
    feed = parse_feed(json.dumps(JSON_FEED_1_0).encode(), content_type="application/json")
    assert (feed.title, feed.link) == ("Harbour Wire", "https://wire.example/")
    first, second, third = feed.entries  # the empty item and the string are dropped
    assert first.guid == "2" and first.link == "https://wire.example/2026/ferry"
    assert first.content == "The council approved it.\n\nWork starts in May."
    assert first.summary == "Approved."
    assert first.published == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert first.author == "A. Reporter" and first.categories == ("transport", "council")
    assert second.title == "" and second.content == "Only text\n\nin two paragraphs."
    assert third.guid == "empty" and third.content == ""


def test_json_feed_1_1_detected_by_its_leading_brace() -> None:
    feed = parse_feed(b"\xef\xbb\xbf  " + json.dumps(JSON_FEED_1_1).encode())
    (entry,) = feed.entries
    assert entry.link == "https://elsewhere.example/story"
    assert entry.author == "Met desk"
    assert entry.published == datetime(2026, 11, 21, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"title": "x", "items": []}', "without a JSON Feed version"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "without an items list"),
        (b"[" * 100_000 + b"]" * 100_000, "not a feed"),
    ],
)
def test_bad_json_is_a_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, content_type="application/feed+json")


def test_rss_ttl_and_skip_hours() -> None:
    doc = (
        b'<rss version="2.0"><channel><title>t</title><ttl>45</ttl>'
        b"<skipHours><hour>0</hour><hour>1</hour><hour>24</hour></skipHours>"
        b"<item><title>a</title><guid>1</guid></item></channel></rss>"
    )
    feed = parse_feed(doc)
    assert feed.ttl_minutes == 45 and feed.skip_hours == (0, 1)


def test_harmless_entities_pass_and_recursive_ones_do_not() -> None:
    check_entities(b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY c "&nbsp;(c)">]><rss/>')
    with pytest.raises(UnsafeDocument, match="refers to itself"):
        check_entities(b'<!DOCTYPE r [<!ENTITY a "&b;"><!ENTITY b "&a;">]><r>&a;</r>')
    many = b'<!DOCTYPE r [<!ENTITY big "' + b"x" * 5000 + b'">]><r>' + b"&big;" * 1000 + b"</r>"
    with pytest.raises(UnsafeDocument, match="entity-expansion bomb"):
        check_entities(many)


def test_feed_links_on_a_page() -> None:
    html = (
        '<html><head><base href="https://cdn.example/site/">'
        '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
        '<link rel="alternate stylesheet" type="text/css" href="x.css">'
        '<link rel="Alternate" type="application/feed+json; charset=utf-8" href="/f.json">'
        '<link rel="alternate" type="application/rss+xml" href="atom.xml"></head></html>'
    )
    assert feed_links(html, "https://www.example/") == [
        "https://cdn.example/site/atom.xml",
        "https://cdn.example/f.json",
    ]
