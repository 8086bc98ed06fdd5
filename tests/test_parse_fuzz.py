"""A time-boxed fuzz of the parse path: whatever the bytes, a ParsedFeed or a ParseError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.errors import ParseError
from feeds.models import ParsedFeed
from feeds.parse import parse_feed
from tests.hostile_server import ENTITY_BOMB, JSON_FEED, LATIN1_FEED, rss_items

SEEDS = [rss_items("fuzz", 3), LATIN1_FEED, JSON_FEED, ENTITY_BOMB]
FRAGMENTS = [
    b"<", b">", b"&", b";", b"&amp;", b"<!ENTITY x \"&x;&x;\">", b"<![CDATA[", b"]]>",
    b"<item>", b"</item>", b"<entry>", b"\x00", b"\xff\xfe", b"{", b"}", b"\"items\":",
    b"<?xml version=\"1.0\" encoding=\"bogus\"?>", b"<!DOCTYPE rss [", b"]>", b"%p;",
]  # fmt: skip

FUZZ = settings(
    max_examples=150,
    deadline=None,  # a loaded CI machine must not turn slowness into failures
    database=None,  # no example database written into the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


def _parses_or_refuses(data: bytes, content_type: str | None = None) -> None:
    try:
        result = parse_feed(data, url="https://fuzz.example/feed", content_type=content_type)
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(result, ParsedFeed)
    for entry in result.entries:
        assert isinstance(entry.title, str) and isinstance(entry.content, str)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _parses_or_refuses(data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 40), st.sampled_from(FRAGMENTS)), max_size=8
    ),
    content_type=st.sampled_from(
        [None, "application/rss+xml", "text/xml; charset=latin-1", "application/feed+json"]
    ),
)
def test_mutated_feeds(
    seed: bytes, edits: list[tuple[float, int, bytes]], content_type: str | None
) -> None:
    data = bytearray(seed)
    for where, cut, fragment in edits:
        at = int(where * len(data))
        data[at : at + cut] = fragment
    _parses_or_refuses(bytes(data), content_type)


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    ),
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "url",
                    "title",
                    "content_html",
                    "content_text",
                    "date_published",
                    "authors",
                    "author",
                    "tags",
                ]
            ),
            st.none() | st.text(max_size=30) | st.integers(),
            max_size=6,
        ),
        max_size=5,
    ),
)
def test_json_feed_shapes(extra: object, items: list[dict[str, object]]) -> None:
    import json

    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": items, "x": extra}
    _parses_or_refuses(json.dumps(doc).encode(), "application/feed+json")
