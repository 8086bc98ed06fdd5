"""JSON Feed (1.0 and 1.1), read with the standard library's ``json``.

Recognised by its content type or a leading ``{``; the size cap of the fetcher bounds it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from feeds.errors import ParseError
from feeds.models import ParsedEntry, ParsedFeed
from feeds.parse.text import describe_error, html_to_text, optional_line, plain_to_text, single_line

BOM = b"\xef\xbb\xbf"


def is_json_feed(content: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return content.lstrip(BOM + b" \t\r\n")[:1] == b"{"


def _json_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")  # 1.1
    if isinstance(authors, list):
        names = [a.get("name") for a in authors if isinstance(a, dict)]
        joined = ", ".join(n.strip() for n in names if isinstance(n, str) and n.strip())
        if joined:
            return joined
    author = item.get("author")  # 1.0
    if isinstance(author, dict):
        return optional_line(author.get("name"))
    return None


def _json_item(item: object, base: str | None) -> ParsedEntry | None:
    if not isinstance(item, dict):
        return None
    raw_id = item.get("id")
    guid = str(raw_id).strip() or None if isinstance(raw_id, str | int) else None
    link = optional_line(item.get("url")) or optional_line(item.get("external_url"))
    if link and base:
        link = urljoin(base, link)
    title = single_line(_json_text(item.get("title")))
    summary = plain_to_text(_json_text(item.get("summary")))
    if item.get("content_html"):
        content = html_to_text(_json_text(item.get("content_html")))
    else:
        content = plain_to_text(_json_text(item.get("content_text")))
    content = content or summary
    summary = summary or content
    if not (title or content or guid or link):
        return None
    tags = item.get("tags")
    categories = (
        tuple(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and t.strip()))
        if isinstance(tags, list)
        else ()
    )
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        published=_json_date(item.get("date_published")) or _json_date(item.get("date_modified")),
        author=_json_author(item),
        summary=summary,
        content=content,
        categories=categories,
    )


def parse_json_feed(content: bytes, *, url: str | None = None) -> ParsedFeed:
    """Parse a JSON Feed 1.0/1.1 document; :class:`ParseError` when it is not one."""
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({describe_error(exc)})") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError("not a feed: JSON without a JSON Feed version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without an items list")
    base = optional_line(doc.get("feed_url")) or url
    entries = tuple(e for e in (_json_item(i, base) for i in items) if e)
    return ParsedFeed(
        title=optional_line(doc.get("title")),
        link=optional_line(doc.get("home_page_url")),
        entries=entries,
    )
