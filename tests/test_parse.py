"""parse_feed and html_to_text on real feed documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.errors import ParseError, UnsafeDocument
from feeds.parse import html_to_text, parse_feed

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News</title>
  <link>https://news.example.org/</link>
  <description>All the news</description>
  <item>
    <title>Parliament passes budget</title>
    <link>https://news.example.org/budget?utm_source=rss</link>
    <guid isPermaLink="false">budget-2025</guid>
    <pubDate>Tue, 10 Jun 2025 14:30:00 +0200</pubDate>
    <dc:creator>Ana Reporter</dc:creator>
    <category>Politics</category>
    <category>Economy</category>
    <category>Politics</category>
    <description>&lt;p&gt;The budget &lt;b&gt;passed&lt;/b&gt;
      301&amp;ndash;290.&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>The budget <b>passed</b> 301&ndash;290.</p>
      <p>Debate lasted  two days.<br>Opposition &amp; allies spoke.</p>
      <script>track()</script>]]></content:encoded>
  </item>
  <item>
    <title>No guid here</title>
    <link>https://news.example.org/no-guid</link>
    <description>Plain words.</description>
    <pubDate>sometime last week</pubDate>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Atom Wire</title>
  <link rel="alternate" href="https://wire.example.com/"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2025-06-10T12:00:00Z</updated>
  <entry>
    <title type="html">Storm &lt;em&gt;hits&lt;/em&gt; coast</title>
    <link rel="alternate" href="/2025/storm"/>
    <id>tag:wire.example.com,2025:storm</id>
    <updated>2025-06-10T11:00:00-05:00</updated>
    <author><name>Wire Desk</name></author>
    <category term="Weather"/>
    <summary type="text">Short   summary.

Second paragraph.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>Long story.</p><p>More detail here.</p>
    </div></content>
  </entry>
</feed>
"""


def test_rss_20() -> None:
    feed = parse_feed(RSS, url="https://news.example.org/rss", content_type="application/rss+xml")
    assert feed.title == "Example News"
    assert feed.link == "https://news.example.org/"
    assert feed.warning is None
    first, second = feed.entries
    assert first.guid == "budget-2025"
    assert first.link == "https://news.example.org/budget?utm_source=rss"
    assert first.title == "Parliament passes budget"
    assert first.published == datetime(2025, 6, 10, 12, 30, tzinfo=UTC)
    assert first.author == "Ana Reporter"
    assert first.categories == ("Politics", "Economy")
    assert first.summary == "The budget passed 301\u2013290."
    assert first.content == (
        "The budget passed 301\u2013290.\n\nDebate lasted two days.\nOpposition & allies spoke."
    )


def test_missing_guid_and_bad_date() -> None:
    entry = parse_feed(RSS).entries[1]
    assert entry.guid is None
    assert entry.link == "https://news.example.org/no-guid"
    assert entry.published is None
    assert entry.summary == entry.content == "Plain words."
    assert entry.categories == ()
    assert entry.author is None


def test_atom_10() -> None:
    feed = parse_feed(ATOM, url="https://wire.example.com/atom.xml")
    assert feed.title == "Atom Wire"
    (entry,) = feed.entries
    assert entry.guid == "tag:wire.example.com,2025:storm"
    assert entry.title == "Storm hits coast"
    assert entry.link == "https://wire.example.com/2025/storm"  # resolved against the URL
    assert entry.published == datetime(2025, 6, 10, 16, 0, tzinfo=UTC)  # from <updated>
    assert entry.author == "Wire Desk"
    assert entry.categories == ("Weather",)
    assert entry.summary == "Short summary.\n\nSecond paragraph."  # plain text keeps breaks
    assert entry.content == "Long story.\n\nMore detail here."


def test_encoding_from_content_type() -> None:
    latin = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\xe9</title>'
        b"<item><title>Na\xefve</title><guid>1</guid></item></channel></rss>"
    )
    feed = parse_feed(latin, content_type="text/xml; charset=iso-8859-1")
    assert feed.title == "Caf\u00e9"
    assert feed.entries[0].title == "Na\u00efve"


def test_empty_feed_is_not_an_error() -> None:
    feed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>'
                      b"</channel></rss>")  # fmt: skip
    assert feed.title == "Quiet"
    assert feed.entries == ()
    assert feed.warning is None


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"\x00\x01 definitely not a feed {", None),
        (b'{"items": []}', "application/json"),
        (b"<html><head><title>Home</title></head><body><p>Hi</p></body></html>", "text/html"),
        (b"<config><item>not rss</item></config>", "application/xml"),
        (b"   ", None),
    ],
)
def test_garbage_raises_parse_error(content: bytes, content_type: str | None) -> None:
    with pytest.raises(ParseError, match="^not a feed: "):
        parse_feed(content, content_type=content_type)


def test_truncated_feed_is_recovered_with_warning() -> None:
    cut = RSS[: RSS.index(b"<item>", RSS.index(b"</item>"))] + b"<item><title>Half"
    feed = parse_feed(cut)
    assert feed.warning is not None
    assert "\n" not in feed.warning
    assert [e.guid for e in feed.entries] == ["budget-2025"]  # the empty half-item is dropped


def test_bytes_naming_a_file_are_data_not_a_path(tmp_path: Path) -> None:
    # A response body that happens to be a local path must never be opened as one.
    path = tmp_path / "local.xml"
    path.write_bytes(RSS)
    with pytest.raises(ParseError):
        parse_feed(str(path).encode())


def test_entity_expansion_is_bounded() -> None:
    levels = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e0 "lol">{levels}]>'
        '<rss version="2.0"><channel><title>&e9;</title>'
        "<item><title>x</title><guid>1</guid></item></channel></rss>"
    ).encode()
    # A billion laughs is refused outright, before feedparser's lenient fallback could
    # expand it (see tests/test_hostile.py for the fetched version).
    with pytest.raises(UnsafeDocument, match="entity"):
        parse_feed(doc)


# --------------------------------------------------------------------------- html_to_text


def test_html_to_text_paragraphs_and_entities() -> None:
    html = (
        "<h2>Head</h2><p>One &amp; <i>only</i>.</p><p>Two&nbsp;&nbsp;words</p>"
        "line<br/>break<br><br>new para<ul><li>a</li><li>b</li></ul>"
        "<style>p{}</style><script>x()</script><table><tr><td>c1</td><td>c2</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Head\n\nOne & only.\n\nTwo words\n\nline\nbreak\n\nnew para\n\na\n\nb\n\nc1 c2"
    )


def test_html_to_text_plain_input_and_edge_cases() -> None:
    assert html_to_text("") == ""
    assert html_to_text("5 < 6 and AT&amp;T") == "5 < 6 and AT&T"
    assert html_to_text("  spaced \n\t out  ") == "spaced out"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("<pre>a\n  b</pre>") == "a\nb"
