"""Stories: different articles about the same real-world event, grouped under one id.

Principles
----------
Five outlets writing about the same earthquake are one *story*; a reader wants one entry
with "covered by five outlets". Two earthquakes a month apart are two stories, even though
their articles share most of their vocabulary ("magnitude", "epicentre", "aftershock").
Joining two different events hides one of them, which is the worst thing a monitoring
service can do, so every rule below leans towards keeping articles apart:

1. **Names carry the event.** Articles are compared by the words that are *rare in the
   language* -- people, places, organisations, unusual nouns -- weighted by how rare they
   are, not by their common vocabulary. Rarity comes from a fixed, general word-frequency
   table (the ``wordfreq`` package, Zipf scale), not from counts over our own archive:
   the weight of a word is then the same in every worker and at every archive size, and
   no shared counter has to be updated (and locked) on every insert.
2. **Time separates events of the same kind.** An article joins a story only if its
   event time lies within :data:`WINDOW` of the story's coverage (from its first to its
   last article). The same rivals meet again next season, the same island has another
   earthquake years later: the window keeps those apart when the words cannot.
3. **An article joins the most similar story or none.** Similarity is the cosine between
   the article's term vector and the story's *signature* (the sum of its articles'
   vectors, trimmed to the :data:`SIGNATURE_TERMS` heaviest terms). It must reach
   :data:`MIN_SIMILARITY`, a threshold read off the quality bench for precision first
   (see ``docs/BENCHMARKS.md``). Below it, the article starts a story of its own.
4. **Decisions are final and online.** An article is assigned once, when it is analysed,
   against the stories that exist then; stories are never merged or split afterwards.
   That keeps ids stable for exports and digests, at the price of an occasional story
   told twice.

Finding candidates without a scan
---------------------------------
Each story's :data:`INDEX_TERMS` heaviest terms are stored in an inverted index
(term -> story, with the story's last event time). A new article looks up its own
:data:`QUERY_TERMS` heaviest terms among stories active inside the window, keeps the
:data:`MAX_CANDIDATES` stories that share the most of them, and scores only those. Reads
stay proportional to the news of the last days, not to the archive.

Everything in this module is pure; :mod:`feeds.grouping` runs it against storage.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from wordfreq import zipf_frequency

__all__ = [
    "INDEX_TERMS",
    "MAX_CANDIDATES",
    "MIN_SIMILARITY",
    "QUERY_TERMS",
    "SIGNATURE_TERMS",
    "WINDOW",
    "StoryChoice",
    "choose_story",
    "cosine",
    "merge_signature",
    "term_vector",
    "top_terms",
]

# Articles more than this far (in event time) from a story's coverage never join it.
WINDOW = timedelta(days=2)
# Cosine between an article and a story signature needed to join; tuned on the quality
# bench for B-cubed precision >= 0.95 (docs/BENCHMARKS.md).
MIN_SIMILARITY = 0.3
SIGNATURE_TERMS = 100
INDEX_TERMS = 30
QUERY_TERMS = 20
MAX_CANDIDATES = 20
# Longest term kept (longer tokens are noise such as URLs or base64).
MAX_TERM_LENGTH = 40

# Zipf frequency (log10 of occurrences per billion words) at or above which a word is
# too common to tell events apart ("said", "people", "year" are about 5-6.5), and the
# ceiling from which rarity is measured. Weights are (CEILING - zipf) ** RARITY_POWER.
COMMON_ZIPF = 6.0
CEILING_ZIPF = 7.0
RARITY_POWER = 1.5
# The headline names the event most directly.
TITLE_WEIGHT = 2.0

_TOKEN = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?|\d+(?:[.,]\d+)*")


@lru_cache(maxsize=200_000)
def _rarity(word: str) -> float:
    zipf = float(zipf_frequency(word, "en"))
    if zipf >= COMMON_ZIPF:
        return 0.0
    return math.pow(CEILING_ZIPF - zipf, RARITY_POWER)


def _terms(text: str) -> Iterable[str]:
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text)):
        term = token.casefold().replace("’", "'")
        if 2 <= len(term) <= MAX_TERM_LENGTH:
            yield term


def term_vector(title: str, text: str) -> dict[str, float]:
    """The article's terms weighted by rarity and frequency, unit length (may be empty)."""
    weights: dict[str, float] = {}
    for source, factor in ((title, TITLE_WEIGHT), (text, 1.0)):
        for term in _terms(source):
            weight = _rarity(term)
            if weight:
                weights[term] = weights.get(term, 0.0) + weight * factor
    return _unit(weights)


def _unit(weights: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    if norm == 0.0:
        return {}
    return {term: w / norm for term, w in weights.items()}


def top_terms(vector: Mapping[str, float], n: int) -> list[str]:
    """The ``n`` heaviest terms, heaviest first (ties by term, so the order is stable)."""
    return [t for t, _ in sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two vectors (the signature is normalised here; ``a`` must be unit)."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(term, 0.0) for term, w in a.items())
    norm_a = math.sqrt(sum(w * w for w in a.values()))
    norm_b = math.sqrt(sum(w * w for w in b.values()))
    if norm_a == 0.0 or norm_b == 0.0:
        return 0.0
    return dot / (norm_a * norm_b)


def merge_signature(
    signature: Mapping[str, float], vector: Mapping[str, float]
) -> dict[str, float]:
    """A story signature with one more article: summed, trimmed to the heaviest terms."""
    summed = dict(signature)
    for term, w in vector.items():
        summed[term] = summed.get(term, 0.0) + w
    keep = top_terms(summed, SIGNATURE_TERMS)
    return {term: round(summed[term], 6) for term in keep}


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """A story that may take the article (from storage)."""

    id: int
    first_time: datetime
    last_time: datetime
    signature: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class StoryChoice:
    """The decision: join ``story_id`` (None: start a new story) with this similarity."""

    story_id: int | None
    similarity: float


def in_window(when: datetime, candidate: StoryCandidate) -> bool:
    return candidate.first_time - WINDOW <= when <= candidate.last_time + WINDOW


def choose_story(
    vector: Mapping[str, float], when: datetime, candidates: Sequence[StoryCandidate]
) -> StoryChoice:
    """The most similar story in the window if it is similar enough, else a new story.

    Ties go to the older story (lower id) so the choice does not depend on the order in
    which storage returned the candidates.
    """
    best: tuple[float, int] | None = None
    for candidate in candidates:
        if not in_window(when, candidate):
            continue
        score = cosine(vector, candidate.signature)
        if best is None or score > best[0] or (score == best[0] and candidate.id < best[1]):
            best = (score, candidate.id)
    if best is None or best[0] < MIN_SIMILARITY:
        return StoryChoice(None, best[0] if best else 0.0)
    return StoryChoice(best[1], best[0])


def event_time(published: datetime | None, first_seen: datetime) -> datetime:
    """When the article's event happened, as far as we can tell.

    The feed's publication date, unless it is missing or claims to be more than a day
    after we first saw the entry (a wrong clock or a scheduled date): then first seen.
    """
    if published is None or published > first_seen + timedelta(days=1):
        return first_seen
    return published
