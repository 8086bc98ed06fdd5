"""What the lxml reader refuses: the checks that send a document back to feedparser.

Each check raises :class:`Decline` (or answers False) when the fast path could not give
exactly what feedparser would; the reader then returns ``None`` and the caller uses
feedparser. The exception never leaves the package.
"""

import html.entities
import re
from collections.abc import Callable

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
_C1 = re.compile("[\x80-\x9f]")
_XML_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")


class Decline(Exception):
    """Raised inside the reader when feedparser must decide; never leaves this module."""


def encoding_ok(content: bytes, content_type: str | None, url: str | None) -> bool:
    """True when feedparser would decode ``content`` as UTF-8 without a warning."""
    body = content[3:] if content.startswith(b"\xef\xbb\xbf") else content
    if body[:2] in (b"\xfe\xff", b"\xff\xfe") or body[:1] == b"\x00":
        return False
    match = _XML_DECL_ENCODING.match(body)
    declared = match.group(1).decode("ascii", "replace").lower() if match else ""
    if declared not in ("", "utf-8", "utf8"):
        return False
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
            return False  # feedparser warns: not an XML media type
    elif url:
        return False  # feedparser warns: no content type
    else:
        encoding = declared or "utf-8"
    if encoding in ("us-ascii", "ascii"):
        return body.isascii()
    if encoding not in ("utf-8", "utf8"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
        if "<" in _TAG.sub("", markup):
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
            else:
                raise Decline("bare ampersand")
