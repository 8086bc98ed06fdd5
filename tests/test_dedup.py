"""Exact identities: canonical URLs, content hashes, per-feed entry keys."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.dedup.guids import _links
from feeds.dedup.keys import (
    MIN_HASHABLE_TEXT,
    canonical_url,
    content_hash,
    entry_key,
    normalise_text,
    prepare_feed,
    to_new_article,
)
from feeds.models import ParsedEntry
from feeds.parse import html_to_text, parse_feed

BODY = (
    "The central bank raised its main interest rate by a quarter point on Thursday, "
    "citing stubborn inflation in services. Officials said further increases were "
    "possible if wage growth did not slow."
)
BODY_HTML = (
    "<p>The central bank raised its <b>main</b> interest rate by a quarter&nbsp;point on "
    "Thursday, citing &ldquo;stubborn&rdquo; inflation in services.</p>\n"
    "<p>Officials said further increases were possible if wage growth did not slow.</p>"
)


def entry(**kw: object) -> ParsedEntry:
    base: dict[str, object] = {
        "guid": None,
        "link": None,
        "title": "Rates rise",
        "published": None,
        "author": None,
        "summary": BODY,
        "content": BODY,
    }
    base.update(kw)
    return ParsedEntry(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # tracking parameters, including mixed case and encoded names
        (
            "https://news.example.com/a?utm_source=rss&utm_medium=feed&id=7",
            "https://news.example.com/a?id=7",
        ),
        (
            "https://news.example.com/a?FBCLID=abc&gclid=1&mc_cid=2&mc_eid=3&ocid=4&cmpid=5",
            "https://news.example.com/a",
        ),
        (
            "https://news.example.com/a?at_medium=x&at_campaign=y&p=2",
            "https://news.example.com/a?p=2",
        ),
        ("https://news.example.com/a?ref=tw&ref_src=twsrc&CMP=share", "https://news.example.com/a"),
        ("https://news.example.com/a?utm%5Fsource=x&q=1", "https://news.example.com/a?q=1"),
        # remaining parameters sorted, their encoding untouched
        ("https://n.example/s?b=2&a=1&a=0", "https://n.example/s?a=0&a=1&b=2"),
        ("https://n.example/s?q=a+b&x=%7e", "https://n.example/s?q=a+b&x=%7E"),
        ("https://n.example/s?12345", "https://n.example/s?12345"),
        # fragments, except #! routes
        ("https://n.example/story#comments", "https://n.example/story"),
        ("https://n.example/#!/story/9", "https://n.example/#!/story/9"),
        # scheme and host case, trailing dot; the path keeps its case
        ("HTTPS://News.Example.COM./World/Story-A", "https://news.example.com/World/Story-A"),
        # default ports dropped, others kept
        ("http://n.example:80/x", "http://n.example/x"),
        ("https://n.example:443/x", "https://n.example/x"),
        ("https://n.example:8443/x", "https://n.example:8443/x"),
        ("http://n.example:443/x", "http://n.example:443/x"),
        # empty path, user info, IPv6
        ("https://n.example", "https://n.example/"),
        ("https://user:pw@n.example/x", "https://n.example/x"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        # conservative: these stay distinct
        ("http://n.example/x", "http://n.example/x"),
        ("https://www.n.example/x/", "https://www.n.example/x/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url", ["ftp://n.example/x", "mailto:desk@n.example", "/relative/path", "", "http://:80/",
            "https://n.example:99999/"]
)  # fmt: skip
def test_canonical_url_rejects_non_http(url: str) -> None:
    assert canonical_url(url) is None


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTPS://N.example:443/a?utm_source=x&b=1&a=2#frag")
    assert once is not None
    assert canonical_url(once) == once


# --------------------------------------------------------------------------- content_hash


def test_same_text_in_html_and_plain_text_hashes_alike() -> None:
    title_text, title_html = "Rates rise \u2013 again", "Rates rise &ndash; again"
    from_text = content_hash(title_text, BODY.replace("stubborn", '"stubborn"'))
    assert content_hash(html_to_text(title_html), html_to_text(BODY_HTML)) == from_text
    # Even a raw HTML rendering that slipped through hashes like its text.
    assert content_hash(title_html, BODY_HTML) == from_text


def test_hash_ignores_case_width_and_spacing() -> None:
    assert content_hash("RATES  RISE", "Ｑｕａｒｔｅｒ point\n\n") == content_hash(
        "rates rise", "quarter point"
    )


def test_different_texts_hash_differently() -> None:
    other = BODY.replace("raised", "cut")
    assert content_hash("Rates rise", BODY) != content_hash("Rates rise", other)
    assert content_hash("Rates rise", BODY) != content_hash("Rates fall", BODY)
    # Title and body are kept apart: moving text between them changes the hash.
    assert content_hash("ab", "c") != content_hash("a", "bc")


def test_content_hash_is_sha256_hex() -> None:
    digest = content_hash("t", "x")
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_normalise_text() -> None:
    assert normalise_text("Don\u2019t \u2014 stop\u2026 Caf\u00e9!") == "dontstopcafé"


def _by_definition(text: str) -> str:
    # The documented rule, character by character (no fast path).
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")


@pytest.mark.parametrize(
    "text",
    [
        "".join(chr(i) for i in range(128) if chr(i) not in "<&"),  # every ASCII character
        'Rates RISE: 3.5% -- the [Bank] said; "more" ~ later_on\t\n(1/2)',
        "Mixed ascii and caf\u00e9 \ufb01ne \u2460",  # not ASCII: the general path
        "AT&T\u2019s Q&A \u2014 \u201cgrowth < 2%\u201d\u2026 na\u00efve \u00a0 \u20ac5",
        "",
    ],
)
def test_normalise_text_agrees_with_its_definition(text: str) -> None:
    assert normalise_text(text) == _by_definition(text)


# Pieces of real feed text and of markup: entities with and without their semicolon,
# "AT&T", a "<" that opens nothing, tags, non-ASCII letters that casefold or decompose,
# typographic punctuation, marks, spaces of every kind.
_PIECES = [
    "AT&T", "Q&A", "&", "&amp;", "&amp", "&nbsp;", "&eacute", "&#8217;", "&#x2014;", "&T",
    "&THORN", "&notit;", "<", "< 2%", "<p>", "</p>", "<br/>", "<b>", "<!-- c -->", "<?x?>",
    "<script>x</script>", "a", "Z", "é", "É", "ß", "ẞ", "İ", "ﬁ", "Ⅻ", "①", "ｶ", "e\u0301",
    "\u0301", "’", "—", "“", "…", "€", "\u00a0", "\u2003", " ", "\n", "\t", ".", ";", "#",
    "1", "Σ", "ς", "ǅ", "\ud800", "\U0001f600",
]  # fmt: skip


def _normalised_by_definition(text: str) -> str:
    # The documented rule without any fast path: markup and entities converted whenever
    # the text holds "<" or "&", then NFKC, casefold, letters, numbers and marks.
    if "<" in text or "&" in text:
        text = html_to_text(text)
    return _by_definition(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_normalise_text_agrees_with_its_definition_on_markup_and_entities(text: str) -> None:
    assert normalise_text(text) == _normalised_by_definition(text)


def test_what_casefold_yields_folds_to_itself() -> None:
    # The normaliser replaces each distinct character by its fate independently; that is
    # exact only while no fate holds a character that would fold again.
    for code in range(0x80, 0x110000):
        for ch in chr(code).casefold():
            assert ch.casefold() == ch, hex(code)


def test_stored_hashes_do_not_change() -> None:
    # Values computed before the ASCII fast path of normalise_text; stored hashes are
    # identities, so these must never change.
    assert content_hash("Rates rise", BODY) == (
        "39b7447e278a88492a3abfdf4c3bd940440cf70d159f8586846593500647330d"
    )
    assert (
        content_hash(
            'A "quoted" title: 100% -- done!',
            "Plain ASCII body; with [brackets], tabs\tand\nnewlines ~ ^ _ ` | \\ @ # $ * + = < >",
        )
        == "11cd67f33063440a9d34d61f5db3c4450abd785f1a3cc2bb0807be9257a560b6"
    )


# --------------------------------------------------------------------------- entry_key


def test_entry_key_prefers_guid() -> None:
    e = entry(guid="abc-1", link="https://n.example/a?utm_source=x")
    assert entry_key(e) == "guid:abc-1"


def test_entry_key_falls_back_to_canonical_link() -> None:
    e = entry(link="HTTPS://N.example/a?utm_source=x#top")
    assert entry_key(e) == "link:https://n.example/a"


def test_entry_key_keeps_non_http_link() -> None:
    assert entry_key(entry(link="urn:isbn:123")) == "link:urn:isbn:123"


def test_entry_key_falls_back_to_hash() -> None:
    e = entry()
    assert entry_key(e) == "hash:" + content_hash("Rates rise", BODY)


def test_entry_keys_from_a_parsed_feed() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
      <item><title>A</title><guid>g-1</guid><link>https://n.example/a</link></item>
      <item><title>B</title><link>https://n.example/b?utm_campaign=z</link></item>
      <item><title>C</title><description>Only text.</description></item>
    </channel></rss>"""
    keys = [entry_key(e) for e in parse_feed(rss).entries]
    assert keys == [
        "guid:g-1",
        "link:https://n.example/b",
        "hash:" + content_hash("C", "Only text."),
    ]


# --------------------------------------------------------------------------- to_new_article


def test_to_new_article() -> None:
    seen = datetime(2025, 6, 10, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    published = datetime(2025, 6, 10, 11, 0, tzinfo=UTC)
    e = entry(
        guid="g-9",
        link=" https://N.example/a?utm_source=x ",
        published=published,
        author="Desk",
        summary="Short.",
        categories=("Economy",),
    )
    article = to_new_article(e, feed_id=3, seen_at=seen)
    assert article.feed_id == 3
    assert article.entry_key == "guid:g-9"
    assert article.url == "https://N.example/a?utm_source=x"
    assert article.canonical_url == "https://n.example/a"
    assert article.content_hash == content_hash("Rates rise", BODY)
    assert (article.title, article.author, article.summary) == ("Rates rise", "Desk", "Short.")
    assert article.content == BODY
    assert article.published == published
    assert article.categories == ("Economy",)
    assert article.seen_at == datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
    assert article.seen_at.tzinfo is UTC


def test_same_wire_article_from_two_outlets_shares_the_hash() -> None:
    now = datetime(2025, 6, 10, tzinfo=UTC)
    a = to_new_article(entry(link="https://one.example/x", content=BODY), 1, now)
    b = to_new_article(entry(link="https://two.example/y", content=html_to_text(BODY_HTML)), 2, now)
    assert a.canonical_url != b.canonical_url
    assert a.content_hash == b.content_hash


def test_short_text_is_not_a_cross_feed_identity() -> None:
    # Daily items with the same title and a boilerplate teaser are different news.
    now = datetime(2025, 6, 10, tzinfo=UTC)
    teaser = "Follow our live coverage."
    assert len(normalise_text(teaser)) < MIN_HASHABLE_TEXT
    monday = to_new_article(entry(title="Live", content=teaser, link="https://n.example/1"), 1, now)
    tuesday = to_new_article(
        entry(title="Live", content=teaser, link="https://n.example/2"), 1, now
    )
    assert monday.content_hash != tuesday.content_hash
    # ...but the same item seen again (same address) still gets the same hash.
    again = to_new_article(
        entry(title="Live", content=teaser, link="https://N.example/1#x"), 2, now
    )
    assert again.content_hash == monday.content_hash


def test_entry_without_any_identity_is_anchored_to_its_feed() -> None:
    now = datetime(2025, 6, 10, tzinfo=UTC)
    one = to_new_article(entry(title="Notice", content="Closed today."), 1, now)
    two = to_new_article(entry(title="Notice", content="Closed today."), 2, now)
    assert one.content_hash != two.content_hash
    assert one.canonical_url is None and one.url is None


def test_to_new_article_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_new_article(entry(), 1, datetime(2025, 6, 10))


def test_prepare_feed_matches_entry_by_entry_preparation() -> None:
    rss = (
        b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>
      <link>https://n.example/</link><ttl>60</ttl>
      <item><title>A</title><guid>g-1</guid><link>https://N.example/a?utm_source=x</link>
        <description>Short teaser.</description></item>
      <item><title>B</title><link>https://n.example/b?utm_campaign=z</link>
        <description>"""
        + BODY.encode()
        + b"""</description></item>
      <item><title>C</title><description>Only text.</description></item>
      <item><title>D</title><guid>g-4</guid><description>No link here.</description></item>
    </channel></rss>"""
    )
    now = datetime(2025, 6, 10, tzinfo=UTC)
    prepared = prepare_feed(
        rss, url="https://n.example/feed", content_type=None, feed_id=7, seen_at=now
    )
    assert not isinstance(prepared, Exception)
    entries = parse_feed(rss, url="https://n.example/feed").entries
    assert prepared.entries == len(entries) == 4
    assert (prepared.title, prepared.link, prepared.ttl_minutes) == ("T", "https://n.example/", 60)
    for use_guid in (True, False):
        assert prepared.keyed(use_guid=use_guid) == [
            to_new_article(e, 7, now, use_guid=use_guid) for e in entries
        ]
    # The (guid, canonical link) pairs are those feeds.dedup.guids judges GUIDs by.
    assert prepared.guid_links == tuple(_links(entries))
    assert ("g-1", "https://n.example/a") in [
        (g.rsplit("/", 1)[-1], u) for g, u in prepared.guid_links
    ]


def test_prepare_feed_returns_parse_errors() -> None:
    result = prepare_feed(
        b"<html><body>no feed</body></html>",
        url=None,
        content_type=None,
        feed_id=1,
        seen_at=datetime(2025, 6, 10, tzinfo=UTC),
    )
    assert isinstance(result, Exception)
    assert "not a feed" in str(result)
