"""Feed bytes to :class:`feeds.models.ParsedFeed`: which reader reads a document."""

from __future__ import annotations

import re

from feeds.errors import ParseError
from feeds.models import ParsedFeed
from feeds.parse.feedparser_reader import read_with_feedparser
from feeds.parse.guards import check_entities
from feeds.parse.jsonfeed import BOM, is_json_feed, parse_json_feed
from feeds.parse.lxml_reader import fast_parse

# --------------------------------------------------------------------------- encodings

_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^;\"'\s]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.IGNORECASE)


def _trust_utf8(content: bytes, content_type: str) -> str:
    """The content type to parse with: a header charset that contradicts a body which is
    valid UTF-8 (with non-ASCII text, and no encoding in its XML declaration) is wrong.

    Servers often label UTF-8 feeds as ISO-8859-1 or windows-1252; text in those encodings
    is almost never valid UTF-8 by accident, so the bytes are the better witness.
    """
    match = _CHARSET.search(content_type)
    if not match or match.group(1).lower().replace("_", "-") in ("utf-8", "utf8"):
        return content_type
    if content.isascii() or _XML_ENCODING.match(content.lstrip(BOM)):
        return content_type
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return content_type
    return _CHARSET.sub("; charset=utf-8", content_type)


# --------------------------------------------------------------------------- entry point


def parse_feed(
    content: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    fast_path_enabled: bool = True,
) -> ParsedFeed:
    """Parse an RSS/Atom/RDF or JSON Feed document; :class:`ParseError` when it holds none.

    ``url`` (the final URL it was fetched from) resolves relative links; ``content_type``
    (the HTTP header, with its charset) lets the encoding be detected as a browser would.
    A document whose entities would expand without bound raises :class:`UnsafeDocument`.
    Plain well-formed RSS 2.0 and Atom 1.0 are read by the lxml reader of
    :mod:`feeds.parse.lxml_reader`, which declines whatever it cannot read exactly as feedparser
    would; ``fast_path_enabled=False`` forces feedparser (the differential test uses it).
    """
    if not content.strip():
        raise ParseError("not a feed: the document is empty")
    if is_json_feed(content, content_type):
        return parse_json_feed(content, url=url)
    check_entities(content)
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = _trust_utf8(content, content_type)
    if url:
        headers["content-location"] = url
    if fast_path_enabled:
        fast = fast_parse(content, url=url, content_type=headers.get("content-type"))
        if fast is not None:
            return fast
    return read_with_feedparser(content, headers)
