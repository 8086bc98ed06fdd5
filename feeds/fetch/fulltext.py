"""Full text for summary-only feeds: the article page's main text, via trafilatura.

Many feeds carry a sentence or two per entry; topics and per-actor sentiment need the
article. For feeds with the full-text switch on (``newsmon feeds full-text ID on``), the
pipeline fetches the page of each *new* entry whose content is short and keeps the page's
main text when it is longer than what the feed gave.

The page is fetched by the same :class:`feeds.ports.Fetcher` as feeds (timeouts, deadline,
decompressed-size cap, private-address refusal) under the same per-host lease. Extraction
is trafilatura's, offline and without its own fetching: this module only hands it bytes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from feeds.errors import FetchError
from feeds.fetch.politeness import host_key
from feeds.models import NewArticle
from feeds.parse.text import plain_to_text
from feeds.ports import Fetcher, HostLimiter

__all__ = ["FULL_TEXT_BELOW", "needs_full_text", "page_text", "with_full_text"]

# Entries whose content is shorter than this many characters are treated as summaries.
FULL_TEXT_BELOW = 600

# trafilatura logs at WARNING for pages it cannot use; that is an expected outcome here.
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def needs_full_text(content: str) -> bool:
    return len(content) < FULL_TEXT_BELOW


def page_text(html: bytes, *, url: str | None = None) -> str | None:
    """The main text of an HTML page as plain paragraphs, or None when there is none."""
    if not html.strip():
        return None
    import trafilatura  # imported on first use: it takes a second to load

    try:
        text = trafilatura.extract(
            html,
            url=url,
            include_comments=False,
            include_tables=False,
            include_links=False,
            include_images=False,
            favor_precision=True,
        )
    except (ValueError, TypeError, LookupError):  # undecodable or malformed markup
        return None
    if not text:
        return None
    return plain_to_text(text.replace("\n", "\n\n")) or None


def with_full_text(
    articles: list[NewArticle], fetcher: Fetcher, limiter: HostLimiter, budget: int
) -> list[NewArticle]:
    """Replace summary-only content by the article page's text (best effort), for at
    most ``budget`` articles.

    Pages go through the same fetcher (limits, address checks) and the same host limiter
    as feeds; the calling thread waits for a lease, but no pool worker does. A page that
    fails or yields nothing leaves the entry as the feed gave it.
    """
    out: list[NewArticle] = []
    for article in articles:
        if budget > 0 and article.url and needs_full_text(article.content):
            budget -= 1
            text = _page_text(article.url, fetcher, limiter)
            if text and len(text) > len(article.content):
                article = replace(article, content=text)
        out.append(article)
    return out


def _page_text(url: str, fetcher: Fetcher, limiter: HostLimiter) -> str | None:
    host = host_key(url)
    while True:
        grant = limiter.try_acquire(host)
        if grant.token is not None:
            break
        time.sleep(min(max(grant.wait, 0.005), 5.0))
    try:
        page = fetcher.fetch(url)
    except FetchError:
        return None
    finally:
        limiter.release(host, grant.token)
    return page_text(page.content, url=page.url) if page.status == "ok" else None
