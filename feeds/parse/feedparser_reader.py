"""The lenient reader: feedparser for every document the lxml reader declines.

feedparser does the hard part (RSS 0.9x/1.0/2.0, Atom, encodings, dates, recovering from
broken XML); this module decides what to keep and in what shape. When feedparser recovers
entries from a broken document they are returned with ``warning`` set; only a document in
which no feed can be found at all raises :class:`feeds.errors.ParseError`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.errors import ParseError
from feeds.models import ParsedEntry, ParsedFeed
from feeds.parse.hints import skip_hours, ttl_minutes
from feeds.parse.text import describe_error, detail_to_text, optional_line, single_line

# --------------------------------------------------------------------------- feed mapping


def _get(node: Mapping[str, Any], key: str) -> Any:
    # feedparser's dict aliases some missing keys to others (``updated_parsed`` falls back
    # to ``published_parsed`` with a DeprecationWarning); read the keys that are really
    # there so that "no updated date" means exactly that.
    if isinstance(node, dict):
        return dict.get(node, key)
    return node.get(key)


def _field_text(node: Mapping[str, Any], name: str) -> str:
    detail = _get(node, f"{name}_detail")
    value = _get(node, name)
    kind = _get(detail, "type") if isinstance(detail, Mapping) else None
    return detail_to_text(value, kind)


def _datetime(parsed: object) -> datetime | None:
    # feedparser normalises dates to UTC struct_time; anything it could not read is None.
    if not isinstance(parsed, time.struct_time):
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _categories(tags: object) -> tuple[str, ...]:
    if not isinstance(tags, Iterable):
        return ()
    seen: dict[str, None] = {}  # ordered set
    for tag in tags:
        term = _get(tag, "term") if isinstance(tag, Mapping) else None
        cleaned = optional_line(term)
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def _content(entry: Mapping[str, Any], summary: str) -> str:
    blocks = _get(entry, "content")
    best = ""
    if isinstance(blocks, Iterable):
        for block in blocks:
            if isinstance(block, Mapping):
                text = detail_to_text(_get(block, "value"), _get(block, "type"))
                if len(text) > len(best):
                    best = text
    return best or summary


def _entry(entry: Mapping[str, Any]) -> ParsedEntry | None:
    title = single_line(_field_text(entry, "title"))
    summary = _field_text(entry, "summary")
    content = _content(entry, summary)
    guid = optional_line(_get(entry, "id"))
    link = optional_line(_get(entry, "link"))
    if not (title or content or guid or link):
        # An empty <item/> (or one feedparser salvaged from a truncated document) has
        # neither identity nor news in it.
        return None
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        published=_datetime(_get(entry, "published_parsed"))
        or _datetime(_get(entry, "updated_parsed")),
        author=optional_line(_get(entry, "author")),
        summary=summary,
        content=content,
        categories=_categories(_get(entry, "tags")),
    )


def read_with_feedparser(content: bytes, headers: Mapping[str, str]) -> ParsedFeed:
    """Read ``content`` with feedparser; ``headers`` are the response headers it may use.

    The body is handed over as a stream: feedparser treats a *string* argument as a URL to
    fetch or a file name to open, and even tries bytes as a file name, so a response that
    happens to read ``/etc/passwd`` must stay data.
    """
    result = feedparser.parse(io.BytesIO(content), response_headers=dict(headers))

    feed_meta: Mapping[str, Any] = result.get("feed") or {}
    feed_title = optional_line(_field_text(feed_meta, "title"))
    entries = tuple(e for e in (_entry(raw) for raw in result.get("entries", ())) if e)
    bozo = bool(result.get("bozo"))
    problem = describe_error(result.get("bozo_exception")) if bozo else None

    if not entries:
        if bozo and not feed_title:
            raise ParseError(f"not a feed: {problem}")
        if not result.get("version"):
            raise ParseError("not a feed: no RSS, Atom or RDF document found")

    return ParsedFeed(
        title=feed_title,
        link=optional_line(_get(feed_meta, "link")),
        entries=entries,
        warning=problem,
        ttl_minutes=ttl_minutes(content),
        skip_hours=skip_hours(content),
    )
