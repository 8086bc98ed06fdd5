"""Keeping feed-supplied content harmless in an email (nh3, the Rust ``ammonia`` sanitiser).

Two layers, because either alone depends on every template author never slipping:

1. **Inputs.** Every string that came from a feed (titles, summaries, evidence, outlet
   names) goes through :func:`plain_text`: nh3 drops all markup - the *contents* of
   ``script``/``style``/``template`` elements included - and the entities are decoded
   (markup revealed by decoding a twice-escaped feed is removed too), leaving text that
   Jinja then escapes. Links go through :func:`safe_link`: only
   absolute ``http``/``https`` URLs survive (no ``javascript:``, ``data:``, ``vbscript:``,
   relative or protocol-relative links).
2. **Output.** The rendered HTML body is cleaned once more by :func:`clean_body` with an
   allow-list of exactly the tags and attributes our template uses, ``style`` included
   (our inline CSS), and URL schemes ``http``, ``https``, ``mailto`` and ``cid`` (the
   inline chart). Event handlers, forms, iframes, ``data:`` images and the like cannot
   survive it, whatever a template does.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import nh3

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "clean_body", "plain_text", "safe_link"]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "br",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "hr",
        "i",
        "img",
        "li",
        "p",
        "small",
        "span",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_COMMON = {"style", "align", "role", "lang", "dir", "title"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": _COMMON,
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"cellpadding", "cellspacing", "border", "width"},
    "td": {"colspan", "width", "valign"},
    "th": {"colspan", "width", "valign"},
}
_URL_SCHEMES = {"http", "https", "mailto", "cid"}
_DROP_WITH_CONTENT = {
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "svg",
    "math",
    "textarea",
    "select",
}


def plain_text(value: str | None) -> str:
    """Feed text with all markup removed, entities decoded and whitespace collapsed."""
    if not value:
        return ""
    text = value
    # Feeds often escape their HTML twice; markup that only appears after decoding the
    # entities is removed as well (a few rounds at most, then whatever "<" is left is text).
    for _ in range(3):
        text = html.unescape(
            nh3.clean(text, tags=set(), clean_content_tags=_DROP_WITH_CONTENT, strip_comments=True)
        )
        if "<" not in text:
            break
    return " ".join(text.split())


def safe_link(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL without control characters, else None."""
    if not url:
        return None
    candidate = url.strip()
    if any(ord(ch) < 0x21 or ch in "\"'<>`\\" for ch in candidate):
        return None
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return candidate


def clean_body(fragment: str) -> str:
    """The final allow-list pass over the rendered HTML body."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
