"""A strict lxml reader for plain, well-formed RSS 2.0 and Atom 1.0 feeds.

feedparser reads anything, but costs tens of milliseconds per large feed in pure Python;
most real feeds are well-formed XML that lxml reads in about a millisecond. This module
reads those and **declines** (returns ``None``) everything it is not sure it reads exactly
as :func:`feeds.parse.parse_feed`'s feedparser path would: the caller then uses feedparser,
so its leniency is kept for every odd feed. The promise, checked by a differential test
over feedparser's own test corpus and the benchmark corpus: when this returns a feed, it
equals what the feedparser path returns for the same bytes.

What it accepts (anything else declines):

* UTF-8 (or ASCII) documents whose HTTP content type and XML declaration agree with that
  the way feedparser's RFC 3023 rules read them (so that feedparser would raise no
  warning), without a DOCTYPE, without ``xml:base``, that lxml parses strictly;
* an ``<rss>`` root with one ``<channel>``, or an Atom 1.0 ``<feed>``, whose channel and
  item children are all on a short list of elements known not to reach the stored fields
  by another route (feedparser maps e.g. ``media:title`` onto the title);
* text fields that are plain text, or HTML whose text feedparser's sanitiser would not
  change (known tags only, known entities only, no comments, no markup in scripts);
* dates in the strict RFC 822 or RFC 3339 forms;
* none of the text that feedparser "repairs" (C1 control characters, UTF-8 read as
  Latin-1).

Safe settings: no entity resolution, no DTD, no network, no huge trees; the entity-bomb
check of :func:`feeds.parse.check_entities` has run before this is called.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.encodings import RE_XML_DECLARATION as _XML_DECLARATION
from feedparser.urls import _urljoin
from lxml import etree

from feeds.models import ParsedEntry, ParsedFeed
from feeds.parse.hints import skip_hours, ttl_minutes
from feeds.parse.lxml_checks import (
    Decline,
    document_encoding,
    html_ok,
    looks_like_html,
    repair_free,
)
from feeds.parse.text import html_to_text, optional_line, plain_to_text, single_line

__all__ = ["fast_parse"]

_ATOM = "http://www.w3.org/2005/Atom"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
_A = "{" + _ATOM + "}"

# Channel and item children that feedparser keeps away from the fields we store.
_RSS_CHANNEL_OK = frozenset(
    {
        "title", "link", "description", "language", "copyright", "managingEditor",
        "webMaster", "pubDate", "lastBuildDate", "category", "generator", "docs", "ttl",
        "image", "skipHours", "skipDays", "item", "cloud", "rating",
        "{http://purl.org/rss/1.0/modules/syndication/}updatePeriod",
        "{http://purl.org/rss/1.0/modules/syndication/}updateFrequency",
        "{http://purl.org/rss/1.0/modules/syndication/}updateBase",
    }
)  # fmt: skip
_RSS_ITEM_IGNORED = frozenset(
    {
        "comments", "enclosure",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://rssnamespace.org/feedburner/ext/1.0}origLink",
    }
)  # fmt: skip
_ATOM_FEED_OK = frozenset(
    _A + n
    for n in ("title", "link", "id", "updated", "subtitle", "generator", "icon", "logo",
              "rights", "entry", "category")
)  # fmt: skip


_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d{2}):(\d{2})(?::(\d{2}))? (GMT|UTC|UT|Z|[+-]\d{4})"
)
_MONTHS = {m: n for n, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
)


# lxml parser objects must not be shared between threads.
_local = threading.local()


def _parser() -> Any:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            recover=False, remove_blank_text=False, strip_cdata=True,
        )  # fmt: skip
        _local.parser = parser
    return parser


# --------------------------------------------------------------------------- checks


def _leaf_text(el: Any) -> str:
    """The stripped text of an element that must hold text only."""
    if len(el):
        raise Decline("markup inside a text element")
    return repair_free((el.text or "").strip())


def _date(text: str, *, rss: bool) -> datetime:
    if rss:
        m = _RFC822.fullmatch(text)
        if not m:
            raise Decline("date format")
        day, mon, year, hh, mm, ss, zone = m.groups()
        offset = 0 if zone in ("GMT", "UTC", "UT", "Z") else (
            (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[3:5]))
        )  # fmt: skip
        fields = (int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss or 0))
    else:
        m = _RFC3339.fullmatch(text)
        if not m:
            raise Decline("date format")
        *parts, zone = m.groups()
        offset = 0 if zone == "Z" else (
            (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
        )  # fmt: skip
        fields = tuple(int(p) for p in parts)  # type: ignore[assignment]
    if not 1971 <= fields[0] <= 2099 or fields[5] > 59 or abs(offset) > 14 * 60:
        raise Decline("date out of the plain range")
    try:
        local = datetime(*fields, tzinfo=UTC)
    except ValueError:
        raise Decline("impossible date") from None
    return local - timedelta(minutes=offset)


# --------------------------------------------------------------------------- shared


class _Text:
    """Text conversion with the same helpers as the feedparser path."""

    def __init__(self) -> None:
        self.html = html_to_text
        self.plain = plain_to_text
        self.optional = optional_line
        self.single = single_line

    def of(self, value: str, kind: str) -> str:
        if not value:
            return ""
        if kind == "text/plain":
            return self.plain(value)
        html_ok(value)
        return self.html(value)


def _one(found: dict[str, list[Any]], key: str) -> Any:
    els = found.get(key)
    if not els:
        return None
    if len(els) > 1:
        raise Decline(f"repeated {key}")
    return els[0]


def _children(el: Any, allowed: Callable[[str], bool]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            raise Decline("comment or processing instruction")
        if not allowed(tag):
            raise Decline(f"element {tag}")
        found.setdefault(tag, []).append(child)
    return found


def _link_fix(link: str) -> str:
    # feedparser's repair of "?a=1&amp;b=2" in <link> text, reproduced.
    link = link.replace("&amp;", "&")
    return re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", link)


def _attrs(el: Any) -> dict[str, str]:
    return {str(k).lower(): v for k, v in el.attrib.items()}


# --------------------------------------------------------------------------- RSS 2.0


def _rss_item_allowed(tag: str) -> bool:
    return tag in _RSS_ITEM_KNOWN or tag in _RSS_ITEM_IGNORED


_RSS_ITEM_KNOWN = frozenset(
    {"title", "link", "guid", "description", "pubDate", "author", "category",
     "{" + _CONTENT + "}encoded", "{" + _DC + "}creator", "{" + _DC + "}date"}
)  # fmt: skip


def _rss_entry(item: Any, base: str, t: _Text) -> ParsedEntry | None:
    if item.attrib:
        raise Decline("attributes on item")
    found = _children(item, _rss_item_allowed)
    for tag in _RSS_ITEM_IGNORED:
        for el in found.get(tag, ()):
            if len(el):
                raise Decline("children in an ignored element")

    title_el = _one(found, "title")
    title = ""
    if title_el is not None:
        raw = _leaf_text(title_el)
        if raw and looks_like_html(raw):
            raise Decline("title that looks like HTML")
        title = t.single(t.of(raw, "text/plain"))

    content_el = _one(found, "{" + _CONTENT + "}encoded")
    content_raw = _leaf_text(content_el) if content_el is not None else None
    desc_el = _one(found, "description")
    if desc_el is not None:
        summary = t.of(_leaf_text(desc_el), "text/html")
    elif content_raw is not None:
        summary = t.of(content_raw, "text/html")
    else:
        summary = ""
    content = (t.of(content_raw, "text/html") if content_raw else "") or summary

    guid_el = _one(found, "guid")
    guid: str | None = None
    guid_is_link = False
    if guid_el is not None:
        attrs = _attrs(guid_el)
        if set(attrs) - {"ispermalink"}:
            raise Decline("guid attributes")
        guid_is_link = attrs.get("ispermalink", "true") == "true"
        raw = _leaf_text(guid_el)
        guid = _urljoin(base, raw) if guid_is_link and raw else raw

    link_el = _one(found, "link")
    if link_el is not None:
        if link_el.attrib:
            raise Decline("attributes on link")
        raw = _leaf_text(link_el)
        link = _link_fix(_urljoin(base, raw) if raw else raw)
    else:
        link = guid if guid_is_link and guid is not None else ""

    authors = found.get("author", []) + found.get("{" + _DC + "}creator", [])
    if len(authors) > 1:
        raise Decline("several authors")
    author = _leaf_text(authors[0]) if authors else None
    if author and "@" in author:
        raise Decline("author with an e-mail address")

    published = _one(found, "pubDate")
    updated = _one(found, "{" + _DC + "}date")
    when = None
    if published is not None:
        when = _date(_leaf_text(published), rss=True)
    if updated is not None:
        other = _date(_leaf_text(updated), rss=False)
        when = when or other

    categories: dict[str, None] = {}
    for el in found.get("category", ()):
        if set(_attrs(el)) - {"domain"}:
            raise Decline("category attributes")
        cleaned = t.optional(_leaf_text(el))
        if cleaned:
            categories.setdefault(cleaned, None)

    return _entry(t, guid, link, title, when, author, summary, content, categories)


def _entry(
    t: _Text,
    guid: str | None,
    link: str | None,
    title: str,
    when: datetime | None,
    author: str | None,
    summary: str,
    content: str,
    categories: dict[str, None],
) -> ParsedEntry | None:
    """The entry both dialects end with; None for an item that carries nothing at all."""
    guid_opt = t.optional(guid)
    link_opt = t.optional(link)
    if not (title or content or guid_opt or link_opt):
        return None
    return ParsedEntry(
        guid=guid_opt, link=link_opt, title=title, published=when,
        author=t.optional(author), summary=summary, content=content,
        categories=tuple(categories),
    )  # fmt: skip


def _rss(root: Any, base: str, t: _Text) -> tuple[str | None, str | None, list[ParsedEntry | None]]:
    if set(root.attrib.keys()) - {"version"}:
        raise Decline("attributes on rss")
    channels = list(root)
    if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
        raise Decline("not exactly one channel")
    found = _children(channels[0], lambda tag: tag in _RSS_CHANNEL_OK or tag == _A + "link")
    for el in found.get(_A + "link", ()):
        if _attrs(el).get("rel", "alternate").lower() == "alternate" or len(el):
            raise Decline("atom:link that may set the feed's link")
    title_el = _one(found, "title")
    title = None
    if title_el is not None:
        raw = _leaf_text(title_el)
        if raw and looks_like_html(raw):
            raise Decline("title that looks like HTML")
        title = t.optional(t.of(raw, "text/plain"))
    link_el = _one(found, "link")
    link = None
    if link_el is not None:
        raw = _leaf_text(link_el)
        link = t.optional(_link_fix(_urljoin(base, raw) if raw else raw))
    items = found.get("item", [])
    return title, link, [_rss_entry(item, base, t) for item in items]


# --------------------------------------------------------------------------- Atom 1.0


def _atom_kind(el: Any) -> str:
    attrs = _attrs(el)
    if set(attrs) - {"type"}:
        raise Decline("text construct attributes")
    kind = attrs.get("type", "text").lower()
    if kind in ("text", "text/plain"):
        return "text/plain"
    if kind in ("html", "text/html"):
        return "text/html"
    raise Decline(f"text construct of type {kind}")


def _atom_link(els: list[Any], base: str) -> str | None:
    link = None
    for el in els:
        if len(el):
            raise Decline("children in link")
        attrs = _attrs(el)
        if "href" not in attrs or set(attrs) - {
            "href",
            "rel",
            "type",
            "title",
            "length",
            "hreflang",
        }:
            raise Decline("link attributes")
        rel = attrs.get("rel", "alternate").lower()
        kind = attrs.get("type", "text/html").lower()
        if rel == "alternate":
            if kind != "text/html":
                raise Decline("alternate link of another type")
            link = repair_free(_urljoin(base, attrs["href"]))
    return link


_ATOM_ENTRY_KNOWN = frozenset(
    _A + n
    for n in ("id", "title", "link", "published", "updated", "author", "summary", "content",
              "category", "rights")
)  # fmt: skip


def _atom_entry(entry: Any, base: str, t: _Text) -> ParsedEntry | None:
    found = _children(entry, lambda tag: tag in _ATOM_ENTRY_KNOWN)

    title_el = _one(found, _A + "title")
    title = (
        t.single(t.of(_leaf_text(title_el), _atom_kind(title_el))) if title_el is not None else ""
    )

    content_el = _one(found, _A + "content")
    content = ""
    content_raw: str | None = None
    if content_el is not None:
        kind = _atom_kind(content_el)
        content_raw = _leaf_text(content_el)
        content = t.of(content_raw, kind)
    summary_el = _one(found, _A + "summary")
    if summary_el is not None:
        summary = t.of(_leaf_text(summary_el), _atom_kind(summary_el))
    elif content_raw is not None:
        summary = t.of(content_raw, "text/html")  # feedparser copies it without its type
    else:
        summary = ""
    content = content or summary

    id_el = _one(found, _A + "id")
    guid = None
    if id_el is not None:
        if id_el.attrib:
            raise Decline("attributes on id")
        raw = _leaf_text(id_el)
        guid = _urljoin(base, raw) if raw else raw
    link = _atom_link(found.get(_A + "link", []), base)
    if link is None:
        link = guid

    author = None
    author_el = _one(found, _A + "author")
    if author_el is not None:
        parts = _children(author_el, lambda tag: tag in (_A + "name", _A + "uri"))
        name_el = _one(parts, _A + "name")
        _one(parts, _A + "uri")
        if name_el is None:
            raise Decline("author without a name")
        author = _leaf_text(name_el)

    published = _one(found, _A + "published")
    updated = _one(found, _A + "updated")
    when = _date(_leaf_text(published), rss=False) if published is not None else None
    if updated is not None:
        other = _date(_leaf_text(updated), rss=False)
        when = when or other

    categories: dict[str, None] = {}
    for el in found.get(_A + "category", ()):
        if len(el) or (el.text or "").strip():
            raise Decline("category with content")
        term = _attrs(el).get("term")
        cleaned = t.optional(repair_free(term)) if term else None
        if cleaned:
            categories.setdefault(cleaned, None)

    return _entry(t, guid, link, title, when, author, summary, content, categories)


def _atom(
    root: Any, base: str, t: _Text
) -> tuple[str | None, str | None, list[ParsedEntry | None]]:
    found = _children(root, lambda tag: tag in _ATOM_FEED_OK)
    title_el = _one(found, _A + "title")
    title = (
        t.optional(t.of(_leaf_text(title_el), _atom_kind(title_el)))
        if title_el is not None
        else None
    )
    link = _atom_link(found.get(_A + "link", []), base)
    id_el = _one(found, _A + "id")
    if link is None and id_el is not None:
        # As for entries, feedparser takes the feed's id as its link when there is none.
        if id_el.attrib:
            raise Decline("attributes on id")
        raw = _leaf_text(id_el)
        link = _urljoin(base, raw) if raw else raw
    return title, t.optional(link), [_atom_entry(e, base, t) for e in found.get(_A + "entry", [])]


# --------------------------------------------------------------------------- entry point


def _as_utf8(content: bytes, encoding: str) -> bytes:
    """``content`` decoded as feedparser decodes it, re-encoded as UTF-8 with a matching
    declaration, so that lxml reads exactly the characters feedparser's parser reads."""
    declaration = "<?xml version='1.0' encoding='utf-8'?>"
    text: str = _XML_DECLARATION.sub(declaration, content.decode(encoding))
    return text.encode("utf-8")


def fast_parse(content: bytes, *, url: str | None, content_type: str | None) -> ParsedFeed | None:
    """The feed, or ``None`` when feedparser must read it (see the module docstring).

    ``content_type`` is the header as the feedparser path would pass it (after its UTF-8
    correction); ``url`` the final URL, the base of relative links.
    """
    if b"xml:base" in content:
        return None
    encoding = document_encoding(content, content_type, url)
    if encoding is None:
        return None
    if encoding not in ("utf-8", "ascii"):
        content = _as_utf8(content, encoding)
    try:
        root = etree.fromstring(content, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None  # entities and DTD tricks are feedparser's business
    base = url or ""  # what feedparser makes of a content-location header
    t = _Text()
    try:
        if root.tag == "rss":
            title, link, entries = _rss(root, base, t)
        elif root.tag == _A + "feed":
            if set(root.attrib.keys()) - {"{http://www.w3.org/XML/1998/namespace}lang"}:
                raise Decline("attributes on feed")
            title, link, entries = _atom(root, base, t)
        else:
            return None
    except Decline:
        return None
    kept = tuple(e for e in entries if e)
    if not kept:
        return None  # the feedparser path decides what an empty feed is
    return ParsedFeed(
        title=title, link=link, entries=kept,
        ttl_minutes=ttl_minutes(content), skip_hours=skip_hours(content),
    )  # fmt: skip
