"""The quick tokeniser of html_to_text gives exactly html.parser's text, or steps aside.

Content hashes are computed from this text, so the two must never differ: a stored hash
would otherwise stop matching the same article fetched again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import generate_corpus
from feeds.parse import html_to_text, parse_feed
from feeds.parse.text import _plain_markup_text, _TextExtractor

FUZZ = settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _reference(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return parser.text()


PIECES = [
    "<p>", "</p>", "<br>", "<br/>", "<br />", "<BR>", "<div class=\"a b\">", "</div>",
    "<pre>", "</pre>", "<li>", "</li>", "<td>", "<th>", "<tr>", "<table>", "</table>",
    "<script>", "</script>", "<script>if (a < b) {}</script>", "<style>p{}</style>",
    "<svg/>", "<svg>", "</svg>", "<iframe src='x'>", "</iframe>", "<a href=x>", "</a>",
    "<a href=\"/q?a=1&amp;b=2\">", "<img src=x alt='a > b'/>", "<b>", "</b>", "<h2>",
    "</h2>", "<!-- c -->", "<![CDATA[x]]>", "<?pi?>", "<", ">", "a < b", "&", "&amp;",
    "&nbsp;", "&#8217;", "&#x2014;", "&#150;", "&amp", "&bogus;", "\n", "\n\n", "  ",
    "\t", "word", "Ünïcødé", "<p/>", "</p >", "</br>", "<x-tag>", "<a b=c/>",
    "growth < 2%", "<3", "<=", "< ", "</ ", "<\n", "AT&T", "<P>", "</P>",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_quick_tokeniser_equals_html_parser(pieces: list[str]) -> None:
    markup = "".join(pieces)
    quick = _plain_markup_text(markup)
    if quick is not None:
        assert quick == _reference(markup)
    assert html_to_text(markup) == _reference(markup)


@pytest.mark.parametrize("real_world", [False, True], ids=["clean", "real-world-markup"])
def test_benchmark_articles_use_the_quick_tokeniser(real_world: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate_corpus(
            Path(tmp), feeds=1, entries=20, syndicated=0.0, real_world=real_world
        )
        data = (Path(tmp) / paths[0].lstrip("/")).read_bytes()
    import re

    bodies = [
        m.group(1) for m in re.finditer(rb"<content:encoded><!\[CDATA\[(.*?)\]\]>", data, re.S)
    ]
    assert len(bodies) == 20
    for body in bodies:
        markup = body.decode()
        assert _plain_markup_text(markup) is not None
        assert html_to_text(markup) == _reference(markup)
    feed = parse_feed(data, content_type="application/rss+xml")
    assert all(e.content for e in feed.entries)


def test_corpus_markup_gives_the_same_text() -> None:
    """Every title, summary and content of feedparser's corpus, unsanitised."""
    import io

    import feedparser

    from tests.shared_data import shared_file

    root = shared_file("data/feedparser-corpus/LICENSE").parent
    quick = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE"):
        result = feedparser.parse(io.BytesIO(path.read_bytes()), sanitize_html=False)
        for entry in result.entries:
            values = [entry.get("title"), entry.get("summary")]
            values += [c.get("value") for c in entry.get("content", [])]
            for markup in values:
                if isinstance(markup, str) and markup:
                    text = _plain_markup_text(markup)
                    if text is not None:
                        quick += 1
                        assert text == _reference(markup), path
    assert quick > 1000
