"""OPML import and export (the format feed readers trade subscription lists in).

Parsing goes through defusedxml: an OPML file is user input and may carry entity bombs.
Nested outlines are flattened; an outline's ``category`` attribute or its parent outline's
title is kept as the category so a grouped file survives a round trip in spirit.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from feeds.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    category: str | None = None


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, in document order, without repeats."""
    if not data.strip():
        raise InvalidInput("the file is empty: an OPML file lists feeds as <outline xmlUrl=...>")
    try:
        root = safe_et.fromstring(data)
    except (safe_et.ParseError, DefusedXmlException, ValueError) as exc:
        raise InvalidInput(f"not a readable OPML file: {exc}") from exc
    if root.tag.lower() != "opml":
        raise InvalidInput(f"not an OPML file: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise InvalidInput("not an OPML file: it has no <body>")
    found: list[OpmlFeed] = []
    seen: set[str] = set()

    def walk(node: Element, category: str | None) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or "").strip()
            title = outline.get("title") or outline.get("text")
            if url:
                if url not in seen:
                    seen.add(url)
                    found.append(OpmlFeed(url, title, outline.get("category") or category))
            else:
                walk(outline, title or category)

    walk(body, None)
    return found


def render_opml(feeds: list[OpmlFeed], *, title: str = "newsmon feeds") -> str:
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    body = SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.category:
            attrs["category"] = feed.category
        SubElement(body, "outline", attrs)
    xml: str = tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"
