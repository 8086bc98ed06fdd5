"""Feed bytes to :class:`feeds.models.ParsedFeed`, with every text field as plain text.

feedparser does the hard part (RSS 0.9x/1.0/2.0, Atom, encodings, dates, recovering from
broken XML). This module decides what to keep and in what shape:

* **Plain text only.** Everything downstream (dedup hashes, topic rules, sentiment, digest
  emails) wants text, not markup, so HTML is turned into text here, once. Paragraph and
  line breaks survive as blank lines and newlines because the analysers split sentences;
  ``<p>One</p><p>Two</p>`` must not become ``OneTwo``.
* **Bytes in, never a path or a URL.** feedparser treats a *string* argument as a URL to
  fetch or a file name to open, and even tries bytes as a file name; the body is handed
  over as a stream so that a response that happens to read ``/etc/passwd`` stays data.
  The fetching itself belongs to :mod:`feeds.fetch`, which bounds time and size.
* **Broken but useful beats strict.** Many real feeds are not well-formed XML. When
  feedparser recovers entries anyway they are returned with ``warning`` set; only a
  document in which no feed can be found at all raises :class:`feeds.errors.ParseError`.
* **Entity expansion is bounded before feedparser sees the document.** expat refuses
  billion-laughs amplification, but when the strict parse fails feedparser falls back to a
  lenient parser that substitutes declared entities without any limit (a 78 KiB feed can
  grow past a gigabyte). So every ``<!ENTITY`` declaration is read first and the size the
  document would have with all of its references expanded is computed without expanding
  anything; past :data:`MAX_ENTITY_EXPANSION` characters, or with recursive entities, the
  document is refused with :class:`feeds.errors.UnsafeDocument`. Harmless declarations
  (an ``&nbsp;`` or two) pass. External entities are never fetched.
* **JSON Feed** (1.0 and 1.1) is recognised by its content type or a leading ``{`` and
  read with the standard library's ``json``; the size cap of the fetcher bounds it.
* **Scheduling hints** travel with the result: RSS ``<ttl>`` and ``<skipHours>``.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser

from feeds.errors import ParseError, UnsafeDocument
from feeds.models import ParsedEntry, ParsedFeed

__all__ = ["MAX_ENTITY_EXPANSION", "check_entities", "html_to_text", "parse_feed"]

_WARNING_MAX = 300
# Characters that all entity references of one document may expand to, together.
MAX_ENTITY_EXPANSION = 1_000_000

# --------------------------------------------------------------------------- HTML to text

# Elements that start a new paragraph. Anything not listed is inline and adds no break.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "center", "dd", "details",
        "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main",
        "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot",
        "thead", "tr", "ul",
    }
)  # fmt: skip
# Elements whose content is never prose for a reader.
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "svg", "math", "iframe",
     "object", "select", "textarea", "button"}
)  # fmt: skip
# Table cells are inline in the flow but must not glue their words together.
_CELL_TAGS = frozenset({"td", "th"})


class _TextExtractor(HTMLParser):
    """Collects text as paragraphs of lines; see :func:`html_to_text`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._paragraphs: list[str] = []
        self._lines: list[str] = []
        self._pieces: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0

    # -- structure

    def _end_line(self) -> bool:
        """Close the current line; True when it held any text."""
        pieces = self._pieces
        if not pieces:
            return False
        # Most lines are one run of text: no need to join a list of one.
        line = " ".join((pieces[0] if len(pieces) == 1 else "".join(pieces)).split())
        self._pieces = []
        if line:
            self._lines.append(line)
            return True
        return False

    def _end_paragraph(self) -> None:
        self._end_line()
        if self._lines:
            self._paragraphs.append("\n".join(self._lines))
            self._lines = []

    # -- HTMLParser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            # "<br><br>" is the poor man's paragraph; a lone <br> is a line break.
            if not self._end_line() and self._lines:
                self._end_paragraph()
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _CELL_TAGS:
            self._pieces.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Self-closing forms (<br/>, <hr/>) open and close at once; a skipped element
        # written as <svg/> must not leave the skip depth raised.
        if tag in _SKIP_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            # Preformatted text keeps its line structure (but not its indentation).
            first, *rest = data.split("\n")
            self._pieces.append(first)
            for line in rest:
                self._end_line()
                self._pieces.append(line)
            return
        self._pieces.append(data)

    def text(self) -> str:
        self._end_paragraph()
        return "\n\n".join(self._paragraphs)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment or document.

    Tags are dropped, entities unescaped, script/style content removed and whitespace
    collapsed. Block elements (``p``, ``div``, ``li``, headings …) and double ``<br>``
    separate paragraphs with a blank line; a single ``<br>`` becomes a newline. The result
    has no leading or trailing whitespace and never two blank lines in a row.
    """
    if not html:
        return ""
    text = _plain_markup_text(html)
    if text is not None:
        return text
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


# A tag written plainly: a name, attributes with simple values, an optional closing slash.
# html.parser reads such a tag exactly as written, so markup made only of these (and text)
# can be tokenised with one regular expression instead of html.parser's general machinery,
# several times faster, with the same callbacks in the same order. Anything else
# (comments, declarations, a stray "<", unusual attribute syntax) goes to html.parser.
_PLAIN_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:\s+[a-zA-Z_][-:.a-zA-Z_0-9]*"
    r"(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'=<>`/]+))?)*)"
    r"\s*(/?)>"
)
# html.parser's raw-text elements end at their own end tag only (as in Python 3.11).
_RAW_TEXT_END = {tag: re.compile(rf"</\s*{tag}\s*>", re.IGNORECASE) for tag in ("script", "style")}


def _plain_markup_text(markup: str) -> str | None:
    """:func:`html_to_text` of markup made of plain tags and text; None for anything else."""
    out = _TextExtractor()
    find = markup.find
    pos = 0
    while True:
        lt = find("<", pos)
        chunk = markup[pos:] if lt < 0 else markup[pos:lt]
        if chunk:
            # html.parser (convert_charrefs) unescapes each run of text between tags.
            if "&" in chunk:
                chunk = unescape(chunk)
            if out._skip_depth or out._pre_depth:
                out.handle_data(chunk)
            else:
                out._pieces.append(chunk)  # handle_data's common case, without the call
        if lt < 0:
            return out.text()
        match = _PLAIN_TAG.match(markup, lt)
        if match is None:
            return None
        closing, name, attrs, slash = match.groups()
        tag = name.lower()
        pos = match.end()
        if closing:
            if attrs or slash:
                return None
            out.handle_endtag(tag)
        elif slash:
            out.handle_startendtag(tag, [])
        else:
            out.handle_starttag(tag, [])
            raw_end = _RAW_TEXT_END.get(tag)
            if raw_end is not None:
                found = raw_end.search(markup, pos)
                if found is None:
                    return None
                out.handle_data(markup[pos : found.start()])  # raw, like html.parser
                out.handle_endtag(tag)
                pos = found.end()


def _plain_to_text(text: str) -> str:
    """Normalise text that is already plain: same whitespace rules as :func:`html_to_text`."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line:
            lines.append(line)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    if lines:
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _detail_to_text(value: object, content_type: object) -> str:
    """Text of a feedparser text construct, honouring its declared type."""
    if not isinstance(value, str) or not value:
        return ""
    kind = content_type.lower() if isinstance(content_type, str) else "text/html"
    if kind == "text/plain":
        return _plain_to_text(value)
    return html_to_text(value)


def _single_line(text: str) -> str:
    return " ".join(text.split())


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
    return _detail_to_text(value, kind)


def _optional(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = _single_line(value)
    return cleaned or None


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
        cleaned = _optional(term)
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def _content(entry: Mapping[str, Any], summary: str) -> str:
    blocks = _get(entry, "content")
    best = ""
    if isinstance(blocks, Iterable):
        for block in blocks:
            if isinstance(block, Mapping):
                text = _detail_to_text(_get(block, "value"), _get(block, "type"))
                if len(text) > len(best):
                    best = text
    return best or summary


def _entry(entry: Mapping[str, Any]) -> ParsedEntry | None:
    title = _single_line(_field_text(entry, "title"))
    summary = _field_text(entry, "summary")
    content = _content(entry, summary)
    guid = _optional(_get(entry, "id"))
    link = _optional(_get(entry, "link"))
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
        author=_optional(_get(entry, "author")),
        summary=summary,
        content=content,
        categories=_categories(_get(entry, "tags")),
    )


def _describe(exc: object) -> str:
    if isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {_single_line(str(exc))}".rstrip(": ")
    else:
        text = _single_line(str(exc)) if exc else "unknown error"
    return text[:_WARNING_MAX]


# --------------------------------------------------------------------------- entity guard

_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+(%\s+)?([^\s"'%&;<>]+)\s+(?:"([^"]*)"|'([^']*)'|(SYSTEM|PUBLIC)\b)""",
    re.IGNORECASE,
)
_REFERENCE = re.compile(rb"([&%])([^\s&%;<>\"']+);")


def check_entities(content: bytes, limit: int = MAX_ENTITY_EXPANSION) -> None:
    """Raise :class:`UnsafeDocument` when declared entities would expand past ``limit``.

    Sizes are computed, never built: each entity's expanded length is its literal length
    plus the expanded lengths of the entities it references (memoised), and the document's
    total is the sum over every reference outside the declarations.
    """
    if not re.search(rb"<!ENTITY", content, re.IGNORECASE):
        return
    values: dict[bytes, bytes] = {}
    for match in _ENTITY_DECL.finditer(content):
        prefix = b"%" if match.group(1) else b"&"
        value = match.group(3) if match.group(3) is not None else match.group(4)
        # External entities (SYSTEM/PUBLIC) are never fetched: they expand to nothing.
        values.setdefault(prefix + match.group(2), value if value is not None else b"")

    sizes: dict[bytes, int] = {}
    visiting: set[bytes] = set()

    def size(name: bytes) -> int:
        if name in sizes:
            return sizes[name]
        if name in visiting:
            raise UnsafeDocument("unsafe document: an entity refers to itself; refusing to parse")
        visiting.add(name)
        value = values[name]
        total = len(value)
        for ref in _REFERENCE.finditer(value):
            key = ref.group(1) + ref.group(2)
            if key in values:
                total += size(key) - len(ref.group(0))
            if total > limit:
                break
        visiting.discard(name)
        sizes[name] = min(total, limit + 1)
        return sizes[name]

    body = _ENTITY_DECL.sub(b"", content)
    total = len(body)
    for ref in _REFERENCE.finditer(body):
        key = ref.group(1) + ref.group(2)
        if key in values:
            total += size(key)
        if total > limit + len(content):
            raise UnsafeDocument(
                f"unsafe document: its entities expand to more than {limit} characters "
                "(an entity-expansion bomb); refusing to parse"
            )
    for key in values:  # a bomb declared but never referenced is still a bomb
        if size(key) > limit:
            raise UnsafeDocument(
                f"unsafe document: entity {key.decode('latin-1')!r} expands to more than "
                f"{limit} characters (an entity-expansion bomb); refusing to parse"
            )


# --------------------------------------------------------------------------- RSS hints

_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>", re.IGNORECASE)
_SKIP_HOURS = re.compile(rb"<skipHours>(.{0,2000}?)</skipHours>", re.IGNORECASE | re.DOTALL)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.IGNORECASE)


def _ttl_minutes(content: bytes) -> int | None:
    match = _TTL.search(content)
    return int(match.group(1)) if match else None


def _skip_hours(content: bytes) -> tuple[int, ...]:
    match = _SKIP_HOURS.search(content)
    if not match:
        return ()
    hours = {int(h) % 24 for h in _HOUR.findall(match.group(1)) if int(h) <= 24}
    return tuple(sorted(hours))


# --------------------------------------------------------------------------- JSON Feed

_BOM = b"\xef\xbb\xbf"


def _is_json(content: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return content.lstrip(_BOM + b" \t\r\n")[:1] == b"{"


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
        return _optional(author.get("name"))
    return None


def _json_item(item: object, base: str | None) -> ParsedEntry | None:
    if not isinstance(item, dict):
        return None
    raw_id = item.get("id")
    guid = str(raw_id).strip() or None if isinstance(raw_id, str | int) else None
    link = _optional(item.get("url")) or _optional(item.get("external_url"))
    if link and base:
        link = urljoin(base, link)
    title = _single_line(_json_text(item.get("title")))
    summary = _plain_to_text(_json_text(item.get("summary")))
    if item.get("content_html"):
        content = html_to_text(_json_text(item.get("content_html")))
    else:
        content = _plain_to_text(_json_text(item.get("content_text")))
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
        raise ParseError(f"not a feed: invalid JSON ({_describe(exc)})") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError("not a feed: JSON without a JSON Feed version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without an items list")
    base = _optional(doc.get("feed_url")) or url
    entries = tuple(e for e in (_json_item(i, base) for i in items) if e)
    return ParsedFeed(
        title=_optional(doc.get("title")),
        link=_optional(doc.get("home_page_url")),
        entries=entries,
    )


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
    if content.isascii() or _XML_ENCODING.match(content.lstrip(_BOM)):
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
    :mod:`feeds.fastparse`, which declines whatever it cannot read exactly as feedparser
    would; ``fast_path_enabled=False`` forces feedparser (the differential test uses it).
    """
    if not content.strip():
        raise ParseError("not a feed: the document is empty")
    if _is_json(content, content_type):
        return parse_json_feed(content, url=url)
    check_entities(content)
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = _trust_utf8(content, content_type)
    if url:
        headers["content-location"] = url
    if fast_path_enabled:
        from feeds.fastparse import fast_parse  # imports this module's helpers

        fast = fast_parse(content, url=url, content_type=headers.get("content-type"))
        if fast is not None:
            return fast
    # A stream, not bytes: see the module docstring.
    result = feedparser.parse(io.BytesIO(content), response_headers=headers)

    feed_meta: Mapping[str, Any] = result.get("feed") or {}
    feed_title = _optional(_field_text(feed_meta, "title"))
    entries = tuple(e for e in (_entry(raw) for raw in result.get("entries", ())) if e)
    bozo = bool(result.get("bozo"))
    problem = _describe(result.get("bozo_exception")) if bozo else None

    if not entries:
        if bozo and not feed_title:
            raise ParseError(f"not a feed: {problem}")
        if not result.get("version"):
            raise ParseError("not a feed: no RSS, Atom or RDF document found")

    return ParsedFeed(
        title=feed_title,
        link=_optional(_get(feed_meta, "link")),
        entries=entries,
        warning=problem,
        ttl_minutes=_ttl_minutes(content),
        skip_hours=_skip_hours(content),
    )
