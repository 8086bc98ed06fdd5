"""Exact identities: the first layer of "store each article once".

Principles
----------
A monitoring service fails in two ways when it deduplicates. Keeping two copies of an
article is a nuisance: a reader sees it twice. Merging two *different* articles is worse: one
of them disappears, and nobody can tell that it was ever published. So every key in this
module is conservative. Two entries share a key only when they are the same item for any
reasonable reader; when in doubt, the keys differ and a later, smarter layer may still
join them. Those later layers (near-duplicate detection on text shingles, then clustering
of articles into stories) work on what this layer stores and can be undone; a wrong merge
here cannot, because the second copy is never stored.

The keys
--------
``entry_key`` -- identity *within one feed*: the entry's guid, else its canonical link,
else its content hash. It tells the poller "this feed showed us this item before", so a
re-poll does not re-insert it. It is prefixed by kind (``guid:``, ``link:``, ``hash:``) so
that a guid which happens to look like a URL can never collide with a link key.

``canonical_url`` -- identity *across feeds* by address. The same article reaches us as
``https://News.example.com:443/a/b?utm_source=rss#top`` from one feed and
``https://news.example.com/a/b`` from another. Only transformations that cannot change
which document a server returns are applied: the scheme and host are lower-cased, the
default port and the fragment are dropped, well-known tracking parameters are removed and
the remaining parameters are sorted. The path keeps its case (servers may treat it
case-sensitively), ``http`` and ``https`` stay distinct, ``www.`` is not stripped, trailing
slashes are kept, and the remaining query text keeps its original encoding.

``content_hash`` -- identity *across feeds* by text: the same wire article (an agency's
text) carried by two outlets under different URLs. The text is normalised hard (Unicode
NFKC, case folding, and only letters, digits and combining marks kept) so that an HTML
rendering and a plain-text rendering of the same text -- curly versus straight quotes,
``&nbsp;``, paragraph tags, an ellipsis character versus three dots -- give the same hash,
while any difference in wording still gives a different one.

A hash over very little text is a weak identity: daily items such as "Live: markets
today" with a one-line boilerplate teaser would collapse into one article. When the body
is too short to stand on its own, :func:`to_new_article` mixes the entry's own identity
(canonical link, else guid) into the hash, so such items only merge with themselves.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import unescape
from typing import TypeVar
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from feeds.errors import ParseError
from feeds.models import NewArticle, ParsedEntry
from feeds.parse import html_to_text, parse_feed

K = TypeVar("K")  # what the caller tags a job with, handed back with its result

__all__ = [
    "MIN_HASHABLE_TEXT",
    "PreparedFeed",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "content_hash",
    "entry_key",
    "normalise_text",
    "prepare_feed",
    "to_new_article",
]

# Query parameters that only say how a reader arrived, never which document to serve.
# Matched case-insensitively on the decoded name. Each is either an analytics vendor's
# documented campaign/click identifier or a share/referral marker that news sites append.
TRACKING_PREFIXES: tuple[str, ...] = (
    "utm_",  # Google Analytics campaign tags: utm_source, utm_medium, utm_campaign, ...
)
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # click identifiers of ad and social platforms
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid",
        # e-mail campaign tools (Mailchimp, HubSpot, Marketo)
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok",
        # publishers' own campaign/referral markers (MSN ocid, Guardian CMP, NYT smid, ...)
        "ocid", "cmpid", "cmp", "icid", "smid", "smtyp", "ito",
        "ref", "ref_src", "ref_url", "referrer",
        # AT Internet (used by the BBC and others)
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "at_ptr_name", "at_link_id", "at_link_origin", "at_link_type", "at_format",
        "at_bbc_team",
        # comScore / legacy Nedstat tags
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
    }
)  # fmt: skip

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")

# Below this many normalised characters a body is not trusted as a cross-feed identity on
# its own (about twenty words); see the module docstring.
MIN_HASHABLE_TEXT = 120


# --------------------------------------------------------------------------- URLs


def _is_tracking(name: str) -> bool:
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _canonical_query(query: str) -> str:
    # Split by hand rather than parse_qsl/urlencode: re-encoding would rewrite values
    # ("a+b" vs "a%20b", bare "?123") and so change what the server receives.
    kept = [part for part in query.split("&") if part and not _is_tracking(part.split("=")[0])]
    kept.sort(key=lambda part: (unquote_plus(part.split("=")[0]), part))
    return "&".join(kept)


def _uppercase_escapes(text: str) -> str:
    # "%2f" and "%2F" are the same octet (RFC 3986 section 6.2.2.1).
    return _ESCAPE.sub(lambda m: m.group(0).upper(), text)


def canonical_url(url: str) -> str | None:
    """The cross-feed identity of an http(s) URL, or None for anything else.

    Lower-cases scheme and host, drops user info, default ports and the fragment (but keeps
    ``#!`` routes, which name content on old single-page sites), removes the tracking
    parameters listed in :data:`TRACKING_PARAMS` / :data:`TRACKING_PREFIXES`, and sorts the
    rest. The path keeps its case.
    """
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # bad port or malformed IPv6 literal
        return None
    if not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _uppercase_escapes(parts.path) or "/"
    query = _uppercase_escapes(_canonical_query(parts.query))
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, query, fragment))


# --------------------------------------------------------------------------- text


def normalise_text(text: str) -> str:
    """Letters, digits and marks only, NFKC-normalised and case-folded.

    Markup is removed first (callers should pass plain text, but a stray HTML rendering
    must still hash like its text), then punctuation, symbols and whitespace are dropped
    entirely rather than replaced by spaces, so "end.</p><p>Next" and "end. Next" agree.
    """
    if ("<" in text and _OPENS_MARKUP.search(text)) or ("&" in text and unescape(text) != text):
        text = html_to_text(text)
    if text.isascii():
        # ASCII is its own NFKC form and casefold() is lower() there; the bytes methods
        # give the same letters and digits as the general path below, several times faster.
        return text.encode("ascii").translate(None, _ASCII_DROPPED).lower().decode("ascii")
    # Same result as the definition (NFKC, casefold, keep the characters whose category
    # starts with L, N or M), computed on the UTF-8 bytes: the ASCII characters are
    # dropped or lowered by two bytes methods in C, and each distinct non-ASCII
    # character, a handful in a real body ("’", "—", "é"), is replaced by its fate with
    # one bytes.replace (UTF-8 cannot match across a character boundary). Per character
    # is exact because casefold maps characters independently; str.casefold and a
    # character class over the whole text cost four times as much.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    present = set(_NON_ASCII.findall(text))
    data = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_DROPPED).lower()
    for ch in present:
        fate = _FATE.get(ch)
        if fate is None:
            fate = _learn(ch)
        own = ch.encode("utf-8", "surrogatepass")
        if fate != own:
            data = data.replace(own, fate)
    return data.decode("utf-8", "surrogatepass")


# The HTML-to-text step can only change more than spaces and punctuation (which the
# normaliser drops anyway) where a "<" opens markup (html.parser reads any other "<" as
# text) or html.unescape changes something. Feed text is plain already and many bodies
# hold "AT&T" or "< 2%"; converting them again was half the normaliser's time on them.
_OPENS_MARKUP = re.compile(r"<[A-Za-z/!?]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# The ASCII characters whose category is not a letter, number or mark.
_ASCII_DROPPED = bytes(i for i in range(128) if unicodedata.category(chr(i))[0] not in "LNM")
# What each non-ASCII character seen so far becomes, as UTF-8 (b"" when dropped). Only
# ever grown, bounded by the characters actually seen; two threads learning the same
# character store the same value.
_FATE: dict[str, bytes] = {}


def _learn(ch: str) -> bytes:
    # A fate never holds a character that another replacement would change again: what
    # casefold yields folds to itself (tests/test_dedup.py checks every code point).
    fate = "".join(c for c in ch.casefold() if unicodedata.category(c)[0] in "LNM")
    _FATE[ch] = fate.encode("utf-8", "surrogatepass")
    return _FATE[ch]


def _digest(*parts: str) -> str:
    # A separator that normalised text cannot contain keeps ("ab", "c") and ("a", "bc")
    # apart.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def content_hash(title: str, text: str) -> str:
    """SHA-256 hex digest of the normalised title and body."""
    return _digest(normalise_text(title), normalise_text(text))


# --------------------------------------------------------------------------- entries


def entry_key(entry: ParsedEntry, *, use_guid: bool = True) -> str:
    """Per-feed identity: ``guid:<guid>``, else ``link:<canonical link>``, else ``hash:<hex>``.

    ``use_guid=False`` skips the guid, for feeds whose GUIDs are broken (see
    :mod:`feeds.dedup.guids`).
    """
    if entry.guid and use_guid:
        return "guid:" + entry.guid
    if entry.link:
        # A link that is not http(s) still identifies the entry within its feed.
        return "link:" + (canonical_url(entry.link) or entry.link.strip())
    return "hash:" + content_hash(entry.title, entry.content)


def _article_hash(entry: ParsedEntry, feed_id: int, canonical: str | None) -> str:
    return _hashes(entry, feed_id, canonical)[0]


def _hashes(entry: ParsedEntry, feed_id: int, canonical: str | None) -> tuple[str, str]:
    """(the article's content hash, :func:`content_hash` of the entry), normalising once."""
    title = normalise_text(entry.title)
    body = normalise_text(entry.content)
    plain = _digest(title, body)  # == content_hash(entry.title, entry.content)
    if len(body) >= MIN_HASHABLE_TEXT:
        return plain, plain
    # Too little text to be a safe identity across feeds: tie it to the entry's address,
    # else its guid, else (an entry with no identity at all) to its feed.
    anchor = canonical or (entry.link or "").strip() or entry.guid or f"feed:{feed_id}"
    return _digest(title, body, "anchor", anchor), plain


def to_new_article(
    entry: ParsedEntry, feed_id: int, seen_at: datetime, *, use_guid: bool = True
) -> NewArticle:
    """Everything storage needs to insert ``entry`` once; ``seen_at`` must be aware."""
    article, plain_key = _prepare(entry, feed_id, seen_at)
    return article if use_guid else replace(article, entry_key=plain_key)


def _prepare(entry: ParsedEntry, feed_id: int, seen_at: datetime) -> tuple[NewArticle, str]:
    """The article keyed by guid where it has one, and its key without the guid; the
    canonical URL and the normalised text are computed once for both."""
    if seen_at.tzinfo is None or seen_at.utcoffset() is None:
        raise ValueError("seen_at must be timezone-aware")
    url = entry.link.strip() if entry.link else None
    canonical = canonical_url(url) if url else None
    article_hash, plain_hash = _hashes(entry, feed_id, canonical)
    # As entry_key(): the canonical link, else the link as written, else the content hash.
    if entry.link:
        plain_key = "link:" + (canonical or url or "")
    else:
        plain_key = "hash:" + plain_hash
    article = NewArticle(
        feed_id=feed_id,
        entry_key="guid:" + entry.guid if entry.guid else plain_key,
        url=url or None,
        canonical_url=canonical,
        content_hash=article_hash,
        title=entry.title,
        published=entry.published,
        author=entry.author,
        summary=entry.summary,
        content=entry.content,
        categories=entry.categories,
        seen_at=seen_at.astimezone(UTC),
    )
    return article, plain_key


# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True, slots=True)
class PreparedFeed:
    """A parsed feed with everything storage needs computed (pure, so it can be done in
    another process): each entry as an article keyed by guid where it has one, its key
    without the guid (for feeds whose GUIDs turn out to be broken), and the (guid,
    canonical link) pairs :mod:`feeds.dedup.guids` judges GUIDs by."""

    title: str | None
    link: str | None
    ttl_minutes: int | None
    skip_hours: tuple[int, ...]
    entries: int
    articles: tuple[NewArticle, ...]
    plain_keys: tuple[str, ...]
    guid_links: tuple[tuple[str, str], ...]

    def keyed(self, *, use_guid: bool) -> list[NewArticle]:
        """The articles, keyed by guid or not."""
        if use_guid:
            return list(self.articles)
        return [
            replace(a, entry_key=k) if a.entry_key != k else a
            for a, k in zip(self.articles, self.plain_keys, strict=True)
        ]


def prepare_feed(
    content: bytes,
    *,
    url: str | None,
    content_type: str | None,
    feed_id: int,
    seen_at: datetime,
) -> PreparedFeed | ParseError:
    """Parse a fetched document and prepare its entries; a parse failure is returned,
    not raised, so that it crosses a process boundary like a result."""
    try:
        parsed = parse_feed(content, url=url, content_type=content_type)
    except ParseError as exc:
        return exc
    articles: list[NewArticle] = []
    plain_keys: list[str] = []
    guid_links: list[tuple[str, str]] = []
    for entry in parsed.entries:
        article, plain_key = _prepare(entry, feed_id, seen_at)
        articles.append(article)
        plain_keys.append(plain_key)
        if entry.guid and entry.link:
            # The canonical link, else the link as written (as feeds.dedup.guids has it).
            guid_links.append((entry.guid, plain_key[len("link:") :]))
    return PreparedFeed(
        title=parsed.title,
        link=parsed.link,
        ttl_minutes=parsed.ttl_minutes,
        skip_hours=parsed.skip_hours,
        entries=len(parsed.entries),
        articles=tuple(articles),
        plain_keys=tuple(plain_keys),
        guid_links=tuple(guid_links),
    )


@dataclass(frozen=True, slots=True)
class PrepareJob:
    """One fetched document to prepare: small and picklable, so a worker process can take it."""

    content: bytes
    url: str | None
    content_type: str | None
    feed_id: int
    seen_at: datetime


def prepare_job(job: PrepareJob) -> PreparedFeed | ParseError:
    """:func:`prepare_feed` of one job (a module-level function: workers import it by name)."""
    return prepare_feed(
        job.content,
        url=job.url,
        content_type=job.content_type,
        feed_id=job.feed_id,
        seen_at=job.seen_at,
    )


def prepare_in_process(
    jobs: Iterable[tuple[K, PrepareJob]],
) -> Iterator[tuple[K, PreparedFeed | ParseError, bool]]:
    """The :class:`feeds.ports.PreparePool` contract without processes: each job here,
    in order, as it is pulled."""
    for key, job in jobs:
        yield key, prepare_job(job), False


def insert_order(article: NewArticle) -> tuple[str, str]:
    """One insert order for every worker: two workers storing overlapping feeds in different
    orders deadlock on PostgreSQL's unique-index locks (the server aborts one, whose poll is
    then retried and fetched again).

    The canonical URL comes first: copies of one article carried by several feeds (a wire
    article) share their link while their teasers, and so their content hashes, differ, so
    hash order is a different order of the same URL keys in every feed. Entries without a
    canonical URL can only collide on the hash and are ordered by it.
    """
    return (article.canonical_url or "", article.content_hash)


def unique_by_key(articles: Iterable[NewArticle]) -> list[NewArticle]:
    """Keep the first entry per identity key: broken feeds repeat GUIDs within one document."""
    seen: dict[str, NewArticle] = {}
    for article in articles:
        seen.setdefault(article.entry_key, article)
    return list(seen.values())
