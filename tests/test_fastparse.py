"""The lxml fast path against the feedparser path: equal whenever it answers.

The differential test runs over every file of feedparser's own test corpus (in the shared
data folder), under the content types a server typically sends; the hand-written
documents below make sure the fast path really answers for ordinary feeds (an always
declining reader would pass the corpus test) and declines the shapes it must leave to
feedparser.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import generate_corpus
from feeds.errors import ParseError, UnsafeDocument
from feeds.models import ParsedFeed
from feeds.parse import parse_feed
from feeds.parse.lxml_reader import fast_parse
from tests.shared_data import shared_file

URL = "https://news.example.org/feeds/main.xml"
CONTENT_TYPES = (None, "application/rss+xml", "application/xml", "text/xml; charset=utf-8")
# (final URL, content type) pairs: what a server sends, and bytes without any headers.
HEADERS = [(URL, c) for c in CONTENT_TYPES] + [(None, None), (None, "application/atom+xml")]


def _slow(data: bytes, content_type: str | None, url: str | None = URL) -> ParsedFeed | type:
    try:
        return parse_feed(data, url=url, content_type=content_type, fast_path_enabled=False)
    except (ParseError, UnsafeDocument) as exc:
        return type(exc)


def test_corpus_fast_path_equals_feedparser_or_declines() -> None:
    root = shared_file("data/feedparser-corpus/LICENSE").parent
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 2000
    taken: set[Path] = set()
    differ: list[str] = []
    for path in files:
        data = path.read_bytes()
        for url, content_type in HEADERS:
            fast = fast_parse(data, url=url, content_type=content_type)
            if fast is None:
                continue
            taken.add(path)
            if fast != _slow(data, content_type, url):
                differ.append(f"{path.relative_to(root)} ({url}, {content_type})")
    assert differ == []
    # The fast path must really be exercised, not decline everything.
    assert len(taken) > 100, len(taken)
    print(f"fast path taken for {len(taken)} of {len(files)} corpus files, 0 differ")


@pytest.mark.parametrize("real_world", [False, True], ids=["clean", "real-world-markup"])
def test_benchmark_feeds_take_the_fast_path_and_match(real_world: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Ten feeds, so that the real-world corpus has one in a legacy encoding.
        paths = generate_corpus(
            Path(tmp), feeds=10, entries=20, syndicated=0.3, real_world=real_world
        )
        for rel in paths:
            data = (Path(tmp) / rel.lstrip("/")).read_bytes()
            fast = fast_parse(data, url=URL, content_type="application/rss+xml")
            assert fast is not None
            assert len(fast.entries) == 20
            assert fast == _slow(data, "application/rss+xml")


RSS_NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>Le Monde &amp; friends — édition</title>
  <link>https://news.example.org/</link>
  <atom:link href="https://news.example.org/feeds/main.xml" rel="self"
             type="application/rss+xml"/>
  <description>News</description>
  <language>fr</language>
  <ttl>15</ttl>
  <image><url>https://news.example.org/logo.png</url><title>Logo</title>
    <link>https://news.example.org/</link></image>
  <item>
    <title>Grève : « les trains s’arrêtent » à Paris</title>
    <link>https://news.example.org/a/1?x=1&amp;y=2</link>
    <guid isPermaLink="false">id-1</guid>
    <pubDate>Tue, 10 Jun 2025 14:30:00 +0200</pubDate>
    <dc:creator>Ana Reporter</dc:creator>
    <category>Société</category><category>Transports</category><category>Société</category>
    <description><![CDATA[<p>Short <b>summary</b> &amp; more&nbsp;text.</p>]]></description>
    <content:encoded><![CDATA[<p>First paragraph with a <a href="/x?a=1&amp;b=2">link</a>.</p>
      <p>Second&#8217;s line<br>next line<br><br>new para</p>
      <ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>
      <pre>keep
  lines</pre><script>var x = 1;</script>
      <blockquote>Quoted&hellip;</blockquote>]]></content:encoded>
    <slash:comments>4</slash:comments>
    <enclosure url="https://news.example.org/a.mp3" length="1" type="audio/mpeg"/>
  </item>
  <item>
    <title>Relative guid as link</title>
    <guid>/a/2</guid>
    <description>Plain text only.</description>
    <dc:date>2025-06-10T12:00:00+01:00</dc:date>
  </item>
  <item>
    <title>Only content</title>
    <link>/a/3</link>
    <content:encoded>&lt;div&gt;Body &lt;em&gt;only&lt;/em&gt;&lt;/div&gt;</content:encoded>
    <pubDate>Wed, 11 Jun 2025 08:00 GMT</pubDate>
  </item>
</channel>
</rss>
""".encode()

ATOM_NEWS = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title type="text">Atom Wire</title>
  <link rel="alternate" href="https://wire.example.com/"/>
  <link rel="self" href="https://wire.example.com/feed.atom"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
  <updated>2025-06-10T12:00:00Z</updated>
  <entry>
    <title type="html">Storm &lt;em&gt;hits&lt;/em&gt; coast</title>
    <link rel="alternate" type="text/html" href="/2025/storm"/>
    <link rel="enclosure" href="/2025/storm.jpg" type="image/jpeg"/>
    <id>tag:wire.example.com,2025:storm</id>
    <published>2025-06-10T10:00:00.123-05:00</published>
    <updated>2025-06-10T11:00:00-05:00</updated>
    <author><name>Wire Desk</name><uri>https://wire.example.com/desk</uri></author>
    <category term="Weather"/><category term="Coast" label="c"/>
    <summary type="text">Short   summary.

Second paragraph.</summary>
    <content type="html">&lt;p&gt;Winds of 150 km/h.&lt;/p&gt;&lt;p&gt;More.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Id only</title>
    <id>https://wire.example.com/2025/id-only</id>
    <updated>2025-06-09T00:00:00Z</updated>
    <content type="text">Plain &lt;b&gt; content</content>
  </entry>
</feed>
"""


@pytest.mark.parametrize("data", [RSS_NEWS, ATOM_NEWS], ids=["rss", "atom"])
@pytest.mark.parametrize("content_type", CONTENT_TYPES[1:])
def test_ordinary_feeds_take_the_fast_path(data: bytes, content_type: str) -> None:
    fast = fast_parse(data, url=URL, content_type=content_type)
    assert fast is not None
    assert fast == _slow(data, content_type)
    # parse_feed answers with the fast path's result.
    assert parse_feed(data, url=URL, content_type=content_type) == fast


@pytest.mark.parametrize("data", [RSS_NEWS, ATOM_NEWS], ids=["rss", "atom"])
def test_without_headers_too(data: bytes) -> None:
    fast = fast_parse(data, url=None, content_type=None)
    assert fast is not None
    assert fast == _slow(data, None, url=None)
    # With a URL but no content type feedparser warns ("no Content-type"): declined.
    assert fast_parse(data, url=URL, content_type=None) is None


def _rss_item(inner: str, ns: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {ns}><channel>'
        f"<title>T</title><link>https://x.example/</link><item>{inner}</item></channel></rss>"
    ).encode()


DECLINED = {
    "media title": _rss_item(
        "<title>a</title><media:title>b</media:title>",
        'xmlns:media="http://search.yahoo.com/mrss/"',
    ),
    "odd date": _rss_item("<title>a</title><pubDate>10 June 2025</pubDate>"),
    "named zone": _rss_item("<title>a</title><pubDate>Tue, 10 Jun 2025 14:30:00 EST</pubDate>"),
    "iframe with text": _rss_item(
        "<title>a</title><description>&lt;iframe&gt;fallback&lt;/iframe&gt;</description>"
    ),
    "unknown entity": _rss_item("<title>a</title><description>x &amp;foo; y</description>"),
    "comment in html": _rss_item("<title>a</title><description>&lt;!-- c --&gt;x</description>"),
    "c1 control": _rss_item("<title>a\u0085b</title>"),
    "utf8 read as latin1": _rss_item("<title>\u00c3\u00a9t\u00c3\u00a9</title>"),
    "title looks like html": _rss_item("<title>a &lt;b&gt;bold&lt;/b&gt;</title>"),
    "two links": _rss_item("<link>https://x.example/1</link><link>https://x.example/2</link>"),
    "unknown namespace": _rss_item("<title>a</title><x:y>z</x:y>", 'xmlns:x="urn:x"'),
    "xml base": _rss_item('<title xml:base="https://y.example/">a</title>'),
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0">'
    b"<channel><title>&a;</title><item><title>a</title></item></channel></rss>",
    # The declaration as feedparser's pattern does not read it: it would guess.
    "spaced declaration": '<?xml version="1.0" encoding = "iso-8859-1"?><rss version="2.0">'
    "<channel><title>caf\u00e9</title><item><title>a</title></item></channel></rss>".encode(
        "latin-1"
    ),
    "undefined windows-1252 byte": b'<?xml version="1.0" encoding="windows-1252"?>'
    b'<rss version="2.0"><channel><title>a\x81b</title><item><title>a</title></item>'
    b"</channel></rss>",
    "not well-formed": b'<rss version="2.0"><channel><item><title>a &amp b</title></item>'
    b"</channel></rss>",
    "rdf": b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
    b'ns#" xmlns="http://purl.org/rss/1.0/"><item><title>a</title></item></rdf:RDF>',
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_odd_shapes_are_left_to_feedparser(name: str) -> None:
    assert fast_parse(DECLINED[name], url=URL, content_type="application/rss+xml") is None


def test_non_ascii_text_xml_without_charset_is_left_to_feedparser() -> None:
    # RFC 3023: text/xml without a charset is US-ASCII; feedparser warns, so we decline.
    assert fast_parse(RSS_NEWS, url=URL, content_type="text/xml") is None
    assert fast_parse(RSS_NEWS, url=URL, content_type="text/html") is None


# --------------------------------------------------------------------------- generated documents
# The corpus is mostly small tests of odd cases; these generated documents combine the
# ordinary pieces of real feeds (each field absent, ordinary or odd, in any order, now
# and then repeated), so that each rule of the fast path is compared with feedparser in
# many contexts.

_HTML = [  # the last two are odd (the fast path declines them)
    "&lt;p&gt;One &amp;amp; two&lt;/p&gt;&lt;p&gt;Three&lt;br&gt;four&lt;/p&gt;",
    "<![CDATA[<div>Body <b>bold</b> &nbsp;&#8217;s <a href='/x?a=1&amp;b=2'>l</a></div>]]>",
    "<![CDATA[<p>x</p><script>track()</script><ul><li>a</li><li>b</li></ul>]]>",
    "<![CDATA[<pre>keep\n  lines</pre><table><tr><td>a</td><td>b</td></tr></table>]]>",
    "Plain words, no markup.",
    "  spaced\n\n  text  ",
    "<![CDATA[<iframe src='v'></iframe><p>after</p>]]>",
    "<![CDATA[<p>&bogus; and a & b</p>]]>",
    "",
]
_RSS_ITEM_SLOTS = [
    ["<title>Plain title</title>", "<title>Tom &amp; Jerry</title>", "<title>  sp   t </title>",
     "<title/>", "<title>Caf\u00e9 &#8217;s</title>", "!<title>a &lt;b&gt;x&lt;/b&gt;</title>"],
    ["<link>https://x.example/a?b=1&amp;c=2</link>", "<link>/rel/path</link>", "<link/>",
     "<link>https://x.example/a#</link>", "<link>http://x.example//a</link>"],
    ["<guid>https://x.example/g1</guid>", '<guid isPermaLink="false">g-1</guid>',
     '<guid isPermaLink="true">/rel-g</guid>', '<guid isPermaLink="False">g2</guid>',
     "<guid/>"],
    ["<pubDate>Tue, 10 Jun 2025 14:30:00 +0200</pubDate>",
     "<pubDate>10 Jun 2025 14:30 GMT</pubDate>",
     "!<pubDate>Tue, 10 Jun 2025 14:30:00 EST</pubDate>", "!<pubDate>yesterday</pubDate>"],
    ["<dc:date>2025-06-10T12:00:00Z</dc:date>", "!<dc:date>2025-06-10</dc:date>"],
    ["<dc:creator>Ana Reporter</dc:creator>", "<author>Bo Writer</author>",
     "!<author>bo@x.example (Bo)</author>"],
    ["<category>World</category>", '<category domain="d">Europe</category>', "<category/>",
     "<category>World</category><category>Asia</category>"],
    [f"<description>{h}</description>" for h in _HTML[:-2]]
    + [f"!<description>{h}</description>" for h in _HTML[-2:]],
    [f"<content:encoded>{h}</content:encoded>" for h in _HTML[:-2]]
    + [f"!<content:encoded>{h}</content:encoded>" for h in _HTML[-2:]],
    ['<enclosure url="https://x.example/a.mp3" length="1" type="audio/mpeg"/>',
     "<comments>https://x.example/c</comments>", "!<media:title>m</media:title>",
     "!<source url='https://s.example/'>S</source>"],
]  # fmt: skip
_RSS_CHANNEL_SLOTS = [
    ["<title>Channel</title>", "<title>A &amp; B</title>"],
    ["<link>https://x.example/</link>", "<link>/home</link>"],
    ["<description>d</description>", "<ttl>30</ttl>",
     "<lastBuildDate>Tue, 10 Jun 2025 14:30:00 +0000</lastBuildDate>"],
    ["<image><url>https://x.example/i.png</url><title>I</title>"
     "<link>https://x.example/</link></image>"],
    ['<atom:link href="https://x.example/feed" rel="self" type="application/rss+xml"/>',
     '!<atom:link href="https://x.example/alt" rel="alternate"/>'],
]  # fmt: skip
_ATOM_TEXT = ['type="text"', 'type="html"', "", 'type="xhtml"']
_ATOM_ENTRY_SLOTS = [
    ["<title>Entry</title>", '<title type="html">A &lt;em&gt;b&lt;/em&gt; &amp;amp; c</title>',
     '<title type="text">x &lt;b&gt;</title>'],
    ['<link href="https://x.example/e1"/>', '<link rel="alternate" href="/rel/e"/>',
     '!<link rel="alternate" type="application/pdf" href="https://x.example/p.pdf"/>'],
    ['<link rel="self" href="https://x.example/self"/>',
     '<link rel="enclosure" href="https://x.example/e.jpg" type="image/jpeg"/>'],
    ["<id>https://x.example/id/1</id>", "<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>",
     "<id>/rel/id</id>", "<id>tag:x.example,2025:1</id>"],
    ["<published>2025-06-10T10:00:00.5-05:00</published>"],
    ["<updated>2025-06-10T11:00:00Z</updated>", "!<updated>2025-06-10 11:00</updated>"],
    ["<author><name>Desk</name></author>",
     "<author><name>Desk</name><uri>https://x.example/d</uri></author>",
     "!<author><name>Desk</name><email>d@x.example</email></author>"],
    ['<category term="World"/>', '<category term="World" label="W"/>', '<category term=" "/>'],
    [f"{'!' if 'xhtml' in t else ''}<summary {t}>{h}</summary>"
     for t in _ATOM_TEXT for h in _HTML[:5]],
    [f"{'!' if 'xhtml' in t else ''}<content {t}>{h}</content>"
     for t in _ATOM_TEXT for h in _HTML[:5]],
]  # fmt: skip
_ATOM_FEED_SLOTS = [
    ["<title>Feed</title>", '<title type="html">F &lt;b&gt;x&lt;/b&gt;</title>'],
    ['<link href="https://x.example/"/>', '<link rel="self" href="https://x.example/f"/>'],
    ["<id>https://x.example/feed-id</id>", "<id>urn:x:feed</id>"],
    ["<updated>2025-06-10T11:00:00Z</updated>", "<subtitle>S</subtitle>"],
    ["!<author><name>Feed Author</name></author>"],
]  # fmt: skip

_RSS_NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:media="http://search.yahoo.com/mrss/"'
)
_GENERATED = settings(max_examples=400, deadline=None, database=None)


def _draw_element(data: st.DataObject, slots: list[list[str]], ordinary: bool) -> str:
    """Each slot absent or one of its variants (only the ordinary ones, not marked "!",
    in an ordinary document), in a drawn order, in odd documents sometimes repeated."""
    pieces = []
    for slot in slots:
        variants = [v for v in slot if not (ordinary and v.startswith("!"))]
        piece = data.draw(st.sampled_from([None, *variants]))
        if piece is not None:
            pieces.append(piece.removeprefix("!"))
    if pieces and not ordinary and data.draw(st.integers(0, 4)) == 0:
        pieces.append(pieces[0])
    return "".join(data.draw(st.permutations(pieces)))


def _headers(data: st.DataObject, ordinary: bool) -> tuple[str | None, str | None]:
    return data.draw(
        st.sampled_from(HEADERS if not ordinary else [h for h in HEADERS if h != (URL, None)])
    )


@_GENERATED
@given(data=st.data())
def test_generated_rss_equals_feedparser_or_declines(data: st.DataObject) -> None:
    ordinary = data.draw(st.booleans())
    items = "".join(
        f"<item>{_draw_element(data, _RSS_ITEM_SLOTS, ordinary)}</item>"
        for _ in range(data.draw(st.integers(1, 3)))
    )
    channel = _draw_element(data, _RSS_CHANNEL_SLOTS, ordinary)
    doc = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {_RSS_NS}><channel>'
        f"{channel}{items}</channel></rss>"
    ).encode()
    _check(doc, _headers(data, ordinary))


@_GENERATED
@given(data=st.data())
def test_generated_atom_equals_feedparser_or_declines(data: st.DataObject) -> None:
    ordinary = data.draw(st.booleans())
    entries = "".join(
        f"<entry>{_draw_element(data, _ATOM_ENTRY_SLOTS, ordinary)}</entry>"
        for _ in range(data.draw(st.integers(1, 3)))
    )
    feed = _draw_element(data, _ATOM_FEED_SLOTS, ordinary)
    doc = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"{feed}{entries}</feed>"
    ).encode()
    _check(doc, _headers(data, ordinary))


TAKEN: list[bool] = []


def _check(doc: bytes, headers: tuple[str | None, str | None]) -> None:
    url, content_type = headers
    fast = fast_parse(doc, url=url, content_type=content_type)
    TAKEN.append(fast is not None)
    if fast is not None:
        assert fast == _slow(doc, content_type, url)


# --------------------------------------------------------------------------- bare ampersands
# Outlets write "AT&T" and "Q&A" inside CDATA as they would in a web page. HTML reads such
# an ampersand as itself, so the fast path takes these feeds and must give feedparser's
# entries; an ampersand before what HTML may read as an entity is still left to feedparser.


def _cdata_item(title: str, body: str) -> bytes:
    return _rss_item(
        f"<title><![CDATA[{title}]]></title><link>https://x.example/a</link>"
        f"<description><![CDATA[<p>{body}</p>]]></description>"
        "<pubDate>Tue, 10 Jun 2025 14:30:00 +0200</pubDate>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "AT&T buys a rival",
        "Q&A: the budget",
        "S&P 500 falls",
        "Tom & Jerry",
        "Fish&Chips",
        "P&Gs results",
        "a & b & c",
        "ends with &",
        "R&D 2026",
    ],
)
def test_literal_ampersands_take_the_fast_path(text: str) -> None:
    doc = _cdata_item(text, f"In short: {text}.")
    fast = fast_parse(doc, url=URL, content_type="application/rss+xml")
    assert fast is not None, text
    assert fast == _slow(doc, "application/rss+xml")
    assert text in fast.entries[0].title


@pytest.mark.parametrize(
    "text", ["&copy 2026", "x &nbsp y", "R&D; labs", "AT&T;", "&#38 a", "&ampx", "&ltb", "a&gtb"]
)
def test_ampersands_html_may_decode_are_left_to_feedparser(text: str) -> None:
    doc = _cdata_item("t", text)
    assert fast_parse(doc, url=URL, content_type="application/rss+xml") is None


_AMP_TOKENS = [
    "a",
    "T",
    "&",
    ";",
    "#",
    "amp",
    "lt",
    "copy",
    "<b>",
    "</b>",
    " ",
    "38",
    "x",
    "<",
    "< ",
    "<3",
    "<=",
    "</",
    "<!",
    ">",
    "\n",
    "<BR>",
    "<P>",
]


@_GENERATED
@given(st.lists(st.sampled_from(_AMP_TOKENS), max_size=12), st.booleans())
def test_generated_ampersand_text_equals_feedparser_or_declines(
    tokens: list[str], in_title: bool
) -> None:
    text = "".join(tokens)
    doc = _cdata_item(text, "body") if in_title else _cdata_item("title", text)
    _check(doc, (URL, "application/rss+xml"))


# --------------------------------------------------------------------------- legacy encodings
# Feeds declared ISO-8859-1 or windows-1252 are decoded with Python's codec, as feedparser
# decodes them, then read by lxml.

_LEGACY = (
    '<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel>'
    "<title>Caf\u00e9 na\u00efve \u2014 \u20ac</title><link>https://x.example/</link>"
    "<item><title>Cr\u00e8me br\u00fbl\u00e9e</title><link>https://x.example/a</link>"
    "<description>&lt;p&gt;\u00a3 5 \u2018q\u2019&lt;/p&gt;</description></item>"
    "</channel></rss>"
)


@pytest.mark.parametrize(
    ("enc", "content_type"),
    [
        ("iso-8859-1", "application/rss+xml"),
        ("windows-1252", "application/rss+xml"),
        ("windows-1252", "application/xml; charset=windows-1252"),
        ("iso-8859-15", "text/xml; charset=iso-8859-15"),
        ("iso-8859-1", None),
    ],
)
def test_legacy_encodings_take_the_fast_path(enc: str, content_type: str | None) -> None:
    doc = _LEGACY.format(enc=enc).encode(enc, "xmlcharrefreplace")
    url = URL if content_type else None
    fast = fast_parse(doc, url=url, content_type=content_type)
    assert fast is not None
    assert fast == _slow(doc, content_type, url)
    assert fast.entries[0].title == "Cr\u00e8me br\u00fbl\u00e9e"


def test_header_charset_that_disagrees_with_the_bytes_is_left_to_feedparser() -> None:
    doc = _LEGACY.format(enc="utf-8").encode("utf-8")
    # UTF-8 bytes labelled windows-1252 decode to mojibake there; feedparser then
    # re-decodes some of that text, which the fast path does not imitate.
    fast = fast_parse(doc, url=URL, content_type="application/xml; charset=windows-1252")
    assert fast is None or fast == _slow(doc, "application/xml; charset=windows-1252")
