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

from bench.corpus import generate_corpus
from feeds.errors import ParseError, UnsafeDocument
from feeds.fastparse import fast_parse
from feeds.models import ParsedFeed
from feeds.parse import parse_feed
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


def test_benchmark_feeds_take_the_fast_path_and_match() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate_corpus(Path(tmp), feeds=3, entries=20, syndicated=0.3)
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
    "latin-1": '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
    "<title>caf\u00e9</title><item><title>a</title></item></channel></rss>".encode("latin-1"),
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
