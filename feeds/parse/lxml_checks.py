"""What the lxml reader refuses: the checks that send a document back to feedparser.

Each check raises :class:`Decline` (or answers False) when the fast path could not give
exactly what feedparser would; the reader then returns ``None`` and the caller uses
feedparser. The exception never leaves the package.
"""

import html.entities
import re
from collections.abc import Callable

from feedparser.encodings import RE_XML_PI_ENCODING
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _HTMLSanitizer

_ACCEPTABLE_TAGS = frozenset(_HTMLSanitizer.acceptable_elements) - {"svg", "math"}
# Dropped by the sanitiser together with their content, as our text conversion skips it.
_DROPPED_TAGS = frozenset(_HTMLSanitizer.unacceptable_elements_with_end_tag)
_KNOWN_ENTITIES = frozenset(html.entities.name2codepoint) | {"apos"}
looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html

# A tag both HTML parsers (the sanitiser's sgmllib and html.parser) read the same way.
_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)"""
    r"""((?:\s+[a-zA-Z_][-:.a-zA-Z_0-9]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'"""
    r"""|[-a-zA-Z0-9./,:;+*%?!$()_#=~@]+))?)*)\s*(/?)>"""
)
_DROPPED_BLOCK = re.compile(r"<(script|style|applet)\b[^<>]*>([^<]*)</\1\s*>", re.IGNORECASE)
_AMP = re.compile(r"&(?:#([0-9]{1,7});|#[xX]([0-9a-fA-F]{1,6});|([A-Za-z][A-Za-z0-9]*);)?")
# A "<" that both HTML parsers read as text ("growth < 2%", "x <= y", "<3"): not the start
# of a tag, an end tag, a comment or a declaration.
_ODD_LT = re.compile(r"<(?![\s0-9=])")
_C1 = re.compile("[\x80-\x9f]")
_XML_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")


# Entity names that HTML reads even without the semicolon ("&copy 2026", "&ltb"): a bare
# ampersand before one of them is decoded by one path and maybe not by the other.
_LEGACY_ENTITIES = frozenset(name for name in html.entities.html5 if not name.endswith(";"))
_NAME_AFTER_AMP = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _literal_ampersand(markup: str, at: int) -> bool:
    """True when the bare ``&`` just before ``at`` is read as a plain ampersand by both
    the sanitiser and our text conversion: "Q&A", "AT&T", "S&P 500", "Tom & Jerry" — what
    outlets write in their HTML. Not when a name follows that is an entity or starts with
    one HTML reads without a semicolon, or when a semicolon ends the name (the sanitiser
    drops it: "R&D;" becomes "R&D"), or before "#" (a reference without its semicolon)."""
    name = _NAME_AFTER_AMP.match(markup, at)
    if name is None:
        return not markup.startswith("#", at)
    word = name.group()
    if word in _KNOWN_ENTITIES or markup.startswith(";", name.end()):
        return False
    return not any(word[:n] in _LEGACY_ENTITIES for n in range(1, len(word) + 1))


class Decline(Exception):
    """Raised inside the reader when feedparser must decide; never leaves this module."""


def document_encoding(content: bytes, content_type: str | None, url: str | None) -> str | None:
    """The codec feedparser would decode ``content`` with, without a warning, or ``None``.

    Follows feedparser's reading of RFC 3023: for application/*+xml the header's charset,
    else the XML declaration's, else UTF-8; for text/*+xml the header's charset or
    US-ASCII. ``None`` whenever feedparser would warn or guess (no or a non-XML media
    type with a URL, byte-order marks other than UTF-8's, bytes the codec refuses).
    """
    bom = content.startswith(b"\xef\xbb\xbf")
    body = content[3:] if bom else content
    if body[:2] in (b"\xfe\xff", b"\xff\xfe") or body[:1] == b"\x00":
        return None
    match = _XML_DECL_ENCODING.match(body)
    declared = match.group(1).decode("ascii", "replace").lower() if match else ""
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
    if content_type:
        if media == "application/xml" or (
            media.startswith("application/") and media.endswith("+xml")
        ):
            encoding = charset or declared or "utf-8"
        elif media == "text/xml" or (media.startswith("text/") and media.endswith("+xml")):
            encoding = charset or "us-ascii"
        else:
            return None  # feedparser warns: not an XML media type
    elif url:
        return None  # feedparser warns: no content type
    else:
        encoding = declared or "utf-8"
    if encoding in ("us-ascii", "ascii"):
        return "ascii" if body.isascii() else None
    if encoding in ("utf-8", "utf8"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "utf-8"
    # A legacy encoding: feedparser decodes with Python's codec of that name (gb2312 it
    # swaps for gb18030) and reads the result as UTF-8; a UTF-8 byte-order mark in front
    # would then be decoded as text, an unusual case left to it.
    if bom or encoding not in _LEGACY_CODECS:
        return None
    if not charset:  # the declaration decides: it must read as feedparser reads it
        seen = RE_XML_PI_ENCODING.match(body)
        if seen is None or seen.group(1).decode("ascii", "replace").lower() != encoding:
            return None
    try:
        content.decode(encoding)
    except UnicodeDecodeError:
        return None
    return encoding


# The single-byte encodings outlets still declare (ISO-8859-x, windows-125x, KOI8):
# every byte string decodes the same in Python as in feedparser, because feedparser
# uses the same Python codec.
_LEGACY_CODECS = frozenset(
    [f"iso-8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16)]
    + [f"windows-{n}" for n in range(1250, 1259)]
    + [f"cp{n}" for n in range(1250, 1259)]
    + ["latin-1", "latin1", "iso8859-1", "koi8-r", "koi8-u"]
)


def repair_free(text: str) -> str:
    """``text`` unchanged, or :class:`Decline` when feedparser would rewrite it."""
    if text.isascii():
        return text
    if _C1.search(text):
        raise Decline("C1 control characters")
    try:
        text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    raise Decline("text that feedparser would re-decode")


def html_ok(markup: str) -> None:
    """Decline HTML whose text the sanitiser's re-serialisation could change."""
    if "<" in markup:
        # Scripts and styles disappear with their content in both paths, when simple.
        markup = _DROPPED_BLOCK.sub("", markup)
        for match in _TAG.finditer(markup):
            tag = match.group(2).lower()
            if tag not in _ACCEPTABLE_TAGS:
                raise Decline(f"HTML tag {tag!r}")
        if _ODD_LT.search(_TAG.sub("", markup)):
            raise Decline("markup the two HTML parsers may read differently")
    if "&" in markup:
        for match in _AMP.finditer(markup):
            decimal, hexadecimal, name = match.groups()
            if name is not None:
                if name not in _KNOWN_ENTITIES:
                    raise Decline("unknown HTML entity")
            elif decimal is not None or hexadecimal is not None:
                value = int(decimal) if decimal is not None else int(hexadecimal, 16)
                if not (
                    0x20 <= value < 0x7F
                    or 0xA0 <= value <= 0xD7FF
                    or 0xE000 <= value <= 0x10FFFF
                    or value in (9, 10, 13)
                ):
                    raise Decline("odd character reference")
            elif not _literal_ampersand(markup, match.end()):
                raise Decline("ampersand the two paths may read differently")
