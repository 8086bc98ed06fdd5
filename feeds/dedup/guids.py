"""Per-feed identity when a feed's GUIDs cannot be trusted.

Principles
----------
A feed's GUID is the publisher's promise that one id means one item, for ever. Most feeds
keep it; some break it in one of two ways, and each way costs something different:

* **one GUID for different items** (a template bug: every entry carries the feed's URL or
  the same constant): trusting it *loses* news, because every entry after the first
  looks like one we already have;
* **a new GUID on every fetch** (a timestamp or a session token in the id): trusting it
  re-inserts old items as new ones on every poll -- they are still caught by the canonical
  URL and the content hash, but the per-feed fast path no longer works and sightings pile
  up.

Either is detected from evidence, never guessed: the first from one fetched document (two
entries share a GUID but have different canonical links), the second from history (at
least :data:`MIN_CHURNED` links the feed carried before come back under GUIDs we never
saw for them, and they are at least half of the links that came back). A feed found
broken is flagged in storage for good -- a feed that broke its promise once is not trusted
again -- and its entries are identified by canonical link, else by content hash, exactly as
entries without a GUID always were.

The decision (:func:`guid_problem`, :func:`pairs_problem`) is pure; the ingest use case
runs it against the repository inside its transaction and flags the feed
(``feeds.usecases.pipeline``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from feeds.dedup.keys import canonical_url
from feeds.models import ParsedEntry

__all__ = ["MIN_CHURNED", "guid_problem", "pairs_problem"]

MIN_CHURNED = 2


def _links(entries: Sequence[ParsedEntry]) -> list[tuple[str, str]]:
    """(guid, canonical link) of entries that have both."""
    pairs = []
    for entry in entries:
        if entry.guid and entry.link:
            link = canonical_url(entry.link) or entry.link.strip()
            pairs.append((entry.guid, link))
    return pairs


def guid_problem(entries: Sequence[ParsedEntry], sighted: Mapping[str, set[str]]) -> str | None:
    """Why this feed's GUIDs are unusable, or None when nothing shows they are.

    ``sighted`` maps canonical links the feed carried before to the entry keys it carried
    them under (see :meth:`feeds.ports.Repository.sighted_keys_by_link`).
    """
    return pairs_problem(_links(entries), sighted)


def pairs_problem(pairs: Sequence[tuple[str, str]], sighted: Mapping[str, set[str]]) -> str | None:
    """:func:`guid_problem` given the entries' (guid, canonical link) pairs, as
    :class:`feeds.dedup.keys.PreparedFeed` carries them."""
    link_of: dict[str, str] = {}
    for guid, link in pairs:
        seen = link_of.setdefault(guid, link)
        if seen != link:
            return f"the same GUID {guid!r} was used for different links ({seen}, {link})"
    came_back = churned = 0
    for guid, link in pairs:
        before = sighted.get(link)
        if not before:
            continue
        came_back += 1
        if "guid:" + guid not in before and all(k.startswith("guid:") for k in before):
            churned += 1
    if churned >= MIN_CHURNED and churned * 2 >= came_back:
        return f"GUIDs change between fetches ({churned} of {came_back} known links re-issued)"
    return None
