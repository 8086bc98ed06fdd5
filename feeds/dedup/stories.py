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
4. **Different names, different events.** Two events of the same kind share their
   vocabulary but not their *who and where*: another defendant, another island, another
   team. Each article therefore also carries its *salient names* -- capitalised words
   that are not just the start of a sentence, and figures -- weighted by how often they
   occur and how rare they are (see :func:`name_vector`). A story keeps the sum of its
   articles' names. An article never joins a story when both have names and neither
   side's :data:`GUARD_NAMES` most salient names appear anywhere among the other's: the
   words say "same kind of event", the names say "somebody else". The guard only ever
   refuses a merge, so it can cost recall but never precision, and it is cheap (one
   pass over the text, a few set lookups per candidate).
5. **Figures and days are evidence both ways** (:mod:`feeds.dedup.events`). Two fights
   of one boxer in one week share his name and the boxing words, but not his record
   (52-3, then 58-3): a score or record stated on both sides with none in common refuses
   the merge. And an article that names the story's day, age, magnitude or toll, or
   whose salient names agree with the story's as a whole, is probably the same event
   told in other words: each such piece of evidence lowers the similarity it needs
   (:func:`required_similarity`). The first rule is where precision comes from when
   two like events are close in time; the second is where recall comes from.
6. **Decisions are final and online.** An article is assigned once, when it is analysed,
   against the stories that exist then; stories are never merged or split afterwards.
   That keeps ids stable for exports and digests, at the price of an occasional story
   told twice.

Finding candidates without a scan
---------------------------------
Each story's :data:`INDEX_TERMS` heaviest terms are stored in an inverted index
(term -> story, with the story's last event time); the names and the event features
travel in the story's signature, under keys that start with :data:`NAME_PREFIX` and
:data:`feeds.dedup.events.EVENT_PREFIX` (never a term), so they need no table of their
own and the retrieval is unchanged. A new article looks up its own
:data:`QUERY_TERMS` heaviest terms among stories active inside the window, keeps the
:data:`MAX_CANDIDATES` stories that share the most of them, and scores only those. Reads
stay proportional to the news of the last days, not to the archive.

Everything in this module is pure; :mod:`feeds.usecases.group` runs it against storage.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from feeds.dedup import scorer
from feeds.dedup.events import EVENT_PREFIX, compare_events
from feeds.dedup.scorer import PairEvidence

__all__ = [
    "GUARD_NAMES",
    "INDEX_TERMS",
    "MAX_CANDIDATES",
    "MIN_SIMILARITY",
    "NAME_PREFIX",
    "QUERY_TERMS",
    "SIGNATURE_TERMS",
    "WINDOW",
    "PairEvidence",
    "StoryChoice",
    "article_vector",
    "choose_story",
    "cosine",
    "merge_signature",
    "name_vector",
    "names_conflict",
    "pair_evidence",
    "qualifies",
    "required_similarity",
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

# Salient names: signature keys of names start with this (a term never does).
NAME_PREFIX = "="
# Names kept in a story's signature, and how many of the most salient names on each side
# the conflict guard compares: the strictest value that split no story of one event on
# the tuning topics of the quality bench (1 and 2 did; docs/BENCHMARKS.md).
SIGNATURE_NAMES = 40
GUARD_NAMES = 3
# Event features kept in a story's signature (days, records, magnitudes, tolls, ages; the
# ones most of its articles state).
SIGNATURE_EVENTS = 20
# Evidence that lowers the similarity needed to join (docs/STORIES.md, "Event features"):
# each piece takes SUPPORT_STEP off MIN_SIMILARITY, down to MIN_SUPPORTED_SIMILARITY; salient
# names count as a piece when their cosine reaches NAME_SUPPORT. Tuned on topics 1-10
# of the quality bench, realistic times (docs/BENCHMARKS.md, "Stories v2").
SUPPORT_STEP = 0.1
MIN_SUPPORTED_SIMILARITY = 0.2
NAME_SUPPORT = 0.3
# Decide with the learned same-event scorer (feeds/dedup/scorer.py) instead of the
# thresholds above; measured and off (docs/BENCHMARKS.md, "A learned same-event scorer").
LEARNED = False
# A capitalised word seen only at the start of a sentence or in a headline (where every
# word may be capitalised) counts as a name only if it is this rare (Zipf) and never
# written in lower case in the body: "Reid" or "Lohan" yes, "Police" or "Hire" no.
RARE_NAME_ZIPF = 4.0

_TOKEN = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?|\d+(?:[.,]\d+)*")
# Words (keeping their case), figures, and the marks after which a capital letter says
# nothing: sentence ends and opening quotes.
_PIECE = re.compile(r"[^\W\d_](?:[\w'’.-]*[^\W_.])?|\d+(?:[.,]\d+)*|``|''|[.!?:\"“”‘’]")
_RESTART = frozenset({".", "!", "?", ":", "``", "''", '"', "“", "”", "‘", "’"})


@lru_cache(maxsize=1)
def _zipf_frequency() -> Callable[[str, str], float]:
    # Imported on first use: the word list is only for processes that group stories, and
    # importing it cost every command line start-up 0.1 s.
    from wordfreq import zipf_frequency

    return zipf_frequency


def _zipf(word: str) -> float:
    return float(_zipf_frequency()(word, "en"))


@lru_cache(maxsize=200_000)
def _rarity(word: str) -> float:
    zipf = _zipf(word)
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


def name_vector(title: str, text: str) -> dict[str, float]:
    """The article's salient names and figures, keyed ``NAME_PREFIX + name``, unit length.

    A word is a name when it is capitalised inside a sentence more often than it is
    written in lower case ("Promises Treatment Center" yes, "Rescue teams" at a
    sentence start no); a rare word seen capitalised only where capitals mean nothing
    (a sentence start, a headline) counts too (:data:`RARE_NAME_ZIPF`). Figures of two
    characters or more (magnitudes, tolls, years) count as they are. Weights: mentions
    times rarity, headline mentions :data:`TITLE_WEIGHT` times over.
    """
    inside: dict[str, int] = {}
    lower: dict[str, int] = {}
    loose: dict[str, int] = {}  # capitalised where a capital says nothing
    headline: dict[str, int] = {}
    figures: dict[str, int] = {}
    body = unicodedata.normalize("NFKC", text).split("\n")
    for number, line in enumerate([unicodedata.normalize("NFKC", title), *body]):
        in_title, start = number == 0, True
        for piece in _PIECE.findall(line):
            if piece in _RESTART:
                start = True
                continue
            was_start, start = start, False
            if piece[0].isdigit():
                if len(piece) >= 2:
                    target = headline if in_title else figures
                    target[piece] = target.get(piece, 0) + 1
                continue
            key = piece.casefold().replace("’", "'").removesuffix("'s")
            if not 2 <= len(key) <= MAX_TERM_LENGTH:
                continue
            if in_title:
                if piece[0].isupper():
                    headline[key] = headline.get(key, 0) + 1
            elif not piece[0].isupper():
                lower[key] = lower.get(key, 0) + 1
            elif was_start or piece.isupper():
                loose[key] = loose.get(key, 0) + 1
            else:
                inside[key] = inside.get(key, 0) + 1
    weights: dict[str, float] = {}
    for key in {*inside, *loose, *headline}:
        mentions = inside.get(key, 0) + loose.get(key, 0)
        if key in inside:
            is_name = inside[key] > lower.get(key, 0)
        else:
            is_name = key not in lower and _zipf(key) < RARE_NAME_ZIPF
        rarity = _rarity(key)
        if is_name and rarity:
            weights[NAME_PREFIX + key] = (mentions + TITLE_WEIGHT * headline.get(key, 0)) * rarity
    for figure, mentions in figures.items():
        rarity = _rarity(figure)
        if rarity:
            count = mentions + TITLE_WEIGHT * headline.get(figure, 0)
            weights[NAME_PREFIX + figure] = count * rarity
    return _unit(weights)


def article_vector(title: str, text: str) -> dict[str, float]:
    """What grouping compares: the term vector and, beside it, the name vector."""
    return {**term_vector(title, text), **name_vector(title, text)}


def _split(vector: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Terms and names of a vector; event keys (:data:`EVENT_PREFIX`) are neither."""
    terms: dict[str, float] = {}
    names: dict[str, float] = {}
    for key, weight in vector.items():
        if key.startswith(NAME_PREFIX):
            names[key] = weight
        elif not key.startswith(EVENT_PREFIX):
            terms[key] = weight
    return terms, names


def _event_part(vector: Mapping[str, float]) -> dict[str, float]:
    return {k: w for k, w in vector.items() if k.startswith(EVENT_PREFIX)}


def names_conflict(article: Mapping[str, float], story: Mapping[str, float]) -> bool:
    """True when both sides have names and share none of their most salient ones.

    "Shared" is generous on purpose: a salient name of one side counts as shared when it
    occurs anywhere among the other side's names, so a follow-up that leads with a new
    witness still joins the story of the event it names.
    """
    if GUARD_NAMES <= 0 or not article or not story:  # 0: guard off
        return False
    return not any(n in story for n in _heaviest(article, GUARD_NAMES)) and not any(
        n in article for n in _heaviest(story, GUARD_NAMES)
    )


def _heaviest(vector: Mapping[str, float], n: int) -> list[str]:
    return [t for t, _ in sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _unit(weights: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    if norm == 0.0:
        return {}
    return {term: w / norm for term, w in weights.items()}


def top_terms(vector: Mapping[str, float], n: int) -> list[str]:
    """The ``n`` heaviest terms, heaviest first (ties by term, so the order is stable);
    names are not terms and are left out."""
    return _heaviest(_split(vector)[0], n)


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
    """A story signature with one more article: summed, trimmed to the heaviest terms
    and the heaviest names."""
    summed = dict(signature)
    for term, w in vector.items():
        summed[term] = summed.get(term, 0.0) + w
    terms, names = _split(summed)
    keep = (
        _heaviest(terms, SIGNATURE_TERMS)
        + _heaviest(names, SIGNATURE_NAMES)
        + _heaviest(_event_part(summed), SIGNATURE_EVENTS)
    )
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


def required_similarity(support: int) -> float:
    """The term cosine an article needs to join a story backed by ``support`` pieces of
    evidence (:func:`qualifies`): :data:`MIN_SIMILARITY` with none, :data:`SUPPORT_STEP`
    less per piece, never below :data:`MIN_SUPPORTED_SIMILARITY`."""
    return max(MIN_SUPPORTED_SIMILARITY, MIN_SIMILARITY - SUPPORT_STEP * support)


def pair_evidence(
    vector: Mapping[str, float], when: datetime, candidate: StoryCandidate
) -> PairEvidence | None:
    """The features of one (article, story) pair; None when the story is ruled out (out
    of the window, or a conflict of names or event figures)."""
    return _pair(*_split(vector), _event_part(vector), when, candidate)


def _pair(
    terms: Mapping[str, float],
    names: Mapping[str, float],
    events: Mapping[str, float],
    when: datetime,
    candidate: StoryCandidate,
) -> PairEvidence | None:
    """:func:`pair_evidence` with the article's vector already split, once per article."""
    if not in_window(when, candidate):
        return None
    story_terms, story_names = _split(candidate.signature)
    if names_conflict(names, story_names):
        return None
    match = compare_events(events, _event_part(candidate.signature))
    if match.conflict:
        return None
    if when < candidate.first_time:
        gap = candidate.first_time - when
    else:
        gap = max(timedelta(0), when - candidate.last_time)
    named = bool(names and story_names)
    return PairEvidence(
        terms=cosine(terms, story_terms),
        names=cosine(names, story_names) if named else 0.0,
        agree=match.agree,
        hours=gap.total_seconds() / 3600,
        named=named,
    )


def qualifies(pair: PairEvidence) -> tuple[bool, float]:
    """Whether the pair is similar enough to join, and its rank among the candidates.

    With :data:`LEARNED` off (the default): the term cosine must reach
    :func:`required_similarity` for the pair's evidence, and the cosine ranks. With it on:
    the same-event probability of :mod:`feeds.dedup.scorer` must reach its threshold, and
    the probability ranks.
    """
    if LEARNED:
        probability = scorer.same_event_probability(pair)
        return probability >= scorer.SCORER_THRESHOLD, probability
    support = pair.agree + (1 if pair.names >= NAME_SUPPORT else 0)
    return pair.terms >= required_similarity(support), pair.terms


def choose_story(
    vector: Mapping[str, float], when: datetime, candidates: Sequence[StoryCandidate]
) -> StoryChoice:
    """The best story in the window if it qualifies (:func:`qualifies`), else a new story.

    A story in conflict with the article is not a candidate at all (:func:`pair_evidence`).
    Among the stories that qualify the best ranked wins; ties go to the older story (lower
    id) so the choice does not depend on the order in which storage returned the
    candidates. The similarity reported is the winner's term cosine (or, for a new story,
    the best term cosine seen).
    """
    terms, names = _split(vector)
    events = _event_part(vector)
    best: tuple[float, int, float] | None = None  # (rank, id, term cosine)
    best_seen = 0.0
    for candidate in candidates:
        pair = _pair(terms, names, events, when, candidate)
        if pair is None:
            continue
        best_seen = max(best_seen, pair.terms)
        ok, rank = qualifies(pair)
        if not ok:
            continue
        if best is None or rank > best[0] or (rank == best[0] and candidate.id < best[1]):
            best = (rank, candidate.id, pair.terms)
    if best is None:
        return StoryChoice(None, best_seen)
    return StoryChoice(best[1], best[2])


def event_time(published: datetime | None, first_seen: datetime) -> datetime:
    """When the article's event happened, as far as we can tell.

    The feed's publication date, unless it is missing or claims to be more than a day
    after we first saw the entry (a wrong clock or a scheduled date): then first seen.
    """
    if published is None or published > first_seen + timedelta(days=1):
        return first_seen
    return published
