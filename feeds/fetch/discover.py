"""Finding the feed of a web page, for ``newsmon feeds add URL``.

People paste the address of a site, not of its feed. Given a URL, in this order:

1. the URL itself, when what it serves parses as a feed;
2. the page's ``<link rel="alternate">`` elements whose type is RSS, Atom or JSON Feed, in
   document order (relative ``href`` resolved against the page, ``<base href>`` honoured);
3. the common paths ``/feed``, ``/rss``, ``/atom.xml``, ``/feed.xml``, ``/rss.xml``,
   ``/index.xml`` on the page's site.

The first candidate that parses as a feed wins and :class:`Discovery` says which and how.
At most :data:`MAX_CANDIDATES` candidates are tried. Every fetch goes through the
:class:`feeds.ports.Fetcher` port, so the usual limits and address checks apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from feeds.errors import FetchError, ParseError
from feeds.models import FetchResult
from feeds.parse import parse_feed
from feeds.ports import Fetcher

__all__ = ["COMMON_PATHS", "Discovery", "discover_feed", "feed_links"]

COMMON_PATHS = ("/feed", "/rss", "/atom.xml", "/feed.xml", "/rss.xml", "/index.xml")
MAX_CANDIDATES = 12
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
    }
)


@dataclass(frozen=True, slots=True)
class Discovery:
    url: str  # the feed's URL
    how: str  # for people: "the URL is a feed", "<link rel=alternate> on the page" …
    title: str | None = None


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        if tag not in ("link", "a"):
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.links.append(values["href"])


def feed_links(html: str, page_url: str) -> list[str]:
    """Absolute URLs of the feeds a page advertises, in document order, without repeats."""
    finder = _LinkFinder()
    finder.feed(html)
    finder.close()
    base = urljoin(page_url, finder.base) if finder.base else page_url
    return list(dict.fromkeys(urljoin(base, href) for href in finder.links))


def _as_feed(fetched: FetchResult) -> str | None:
    """The feed's title (or "") when the body parses as a feed with entries or a title."""
    try:
        parsed = parse_feed(fetched.content, url=fetched.url, content_type=fetched.content_type)
    except ParseError:
        return None
    if not parsed.entries and not parsed.title:
        return None
    return parsed.title or ""


def _decode(content: bytes) -> str:
    return content[:2_000_000].decode("utf-8", errors="replace")


def discover_feed(url: str, fetcher: Fetcher) -> Discovery:
    """The feed for ``url``; :class:`FetchError` when the URL itself cannot be fetched,
    :class:`ParseError` when no candidate is a feed."""
    page = fetcher.fetch(url)
    title = _as_feed(page)
    if title is not None:
        return Discovery(url, "the URL is a feed", title or None)

    linked = feed_links(_decode(page.content), page.url)
    common = [urljoin(page.url, path) for path in COMMON_PATHS]
    tried = {url, page.url}
    for candidate in [*linked, *common][:MAX_CANDIDATES]:
        if candidate in tried:
            continue
        tried.add(candidate)
        try:
            fetched = fetcher.fetch(candidate)
        except FetchError:
            continue
        title = _as_feed(fetched)
        if title is not None:
            how = (
                '<link rel="alternate"> on the page'
                if candidate in linked
                else f"the common path {urlsplit(candidate).path}"
            )
            return Discovery(candidate, how, title or None)
    raise ParseError(
        f"no feed found at {url}: it is not a feed, it advertises no "
        '<link rel="alternate"> feed and none of ' + ", ".join(COMMON_PATHS) + " is one"
    )
