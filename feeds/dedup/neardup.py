"""Near-duplicates: the same text carried by several outlets, lightly edited.

Principles
----------
A near-duplicate is *the same piece of writing*, not merely the same news. A wire article
that three outlets run -- one under its own headline, one with a paragraph cut for space,
one behind a "LONDON (Reuters) -" dateline -- is one article for a reader, and the later
copies point at the first with ``duplicate_of``. Two reporters writing about the same
earthquake are *not* near-duplicates; joining those is the job of :mod:`feeds.dedup.stories`.

A false merge hides news, so the test is deliberately narrow and exact:

* only the body counts (headlines are the part outlets rewrite, so they are left out);
* the body is compared as a set of word *shingles* (runs of :data:`SHINGLE_WORDS` words),
  which survives a dropped paragraph, a prefix or a changed word, but not a rewrite;
* the decision is the **exact** resemblance (Jaccard index) of the two shingle sets,
  computed from both texts, never an estimate, and it must reach
  :data:`MIN_RESEMBLANCE`; bodies shorter than :data:`MIN_SHINGLES` shingles (a one-line
  teaser) never match anything, because a sentence in common is not the same article.

Finding candidates without a scan
---------------------------------
Comparing a new article with every stored one would make each insert cost grow with the
archive. Instead each body gets a MinHash signature (:data:`PERMUTATIONS` values, one per
hash function: the smallest hash over its shingles) cut into :data:`BANDS` bands of
:data:`ROWS` values. Two bodies with resemblance *J* agree on a given band with
probability J^ROWS, so they share at least one band with probability
1 - (1 - J^ROWS)^BANDS: with 16 bands of 4 rows that is 0.66 at J = 0.5, 0.98 at J = 0.7
and > 0.999 at J = 0.8. Storage keeps one row per (band key, article) with an index, so a
lookup reads only the articles that share a band -- a handful -- however big the archive
is, and each of them is then checked exactly. The band keys are the "index shared by all
workers": they live in the database next to the articles.

The constants are fixed: changing them changes every stored band key, so a new value
needs a re-index of the window (see ``docs/STORIES.md``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "BANDS",
    "MIN_RESEMBLANCE",
    "MIN_SHINGLES",
    "PERMUTATIONS",
    "ROWS",
    "SHINGLE_WORDS",
    "band_keys",
    "minhash",
    "resemblance",
    "shingles",
]

SHINGLE_WORDS = 4
BANDS = 16
ROWS = 4
PERMUTATIONS = BANDS * ROWS

# Exact Jaccard resemblance of the shingle sets at or above which two bodies are one
# article. Measured on the quality bench (docs/BENCHMARKS.md): lightly edited syndicated
# copies score 0.62-1.0, different articles about the same event at most 0.12.
MIN_RESEMBLANCE = 0.5
# A body needs this many distinct shingles (about 25 words) to be matched at all.
MIN_SHINGLES = 20

_WORD = re.compile(r"\w+")
_MERSENNE_61 = (1 << 61) - 1
_MASK_63 = (1 << 63) - 1


def _coefficients() -> tuple[tuple[int, int], ...]:
    # Fixed, reproducible hash functions h_i(x) = (a_i * x + b_i) mod (2^61 - 1): derived
    # from a hash of their index so every process and version computes the same ones.
    pairs = []
    for i in range(PERMUTATIONS):
        seed = hashlib.blake2b(f"newsmon-minhash-{i}".encode(), digest_size=16).digest()
        a = int.from_bytes(seed[:8], "big") % (_MERSENNE_61 - 1) + 1
        b = int.from_bytes(seed[8:], "big") % _MERSENNE_61
        pairs.append((a, b))
    return tuple(pairs)


_COEFFICIENTS = _coefficients()


def words(text: str) -> list[str]:
    """The body's words: NFKC-normalised, case-folded, punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str) -> frozenset[str]:
    """The set of runs of :data:`SHINGLE_WORDS` consecutive words."""
    tokens = words(text)
    if len(tokens) < SHINGLE_WORDS:
        return frozenset([" ".join(tokens)]) if tokens else frozenset()
    return frozenset(
        " ".join(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)
    )


def resemblance(a: frozenset[str], b: frozenset[str]) -> float:
    """Exact Jaccard index; 0.0 when either set is too small to be trusted."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES:
        return 0.0
    return len(a & b) / len(a | b)


def minhash(items: Iterable[str]) -> tuple[int, ...]:
    """The MinHash signature of a shingle set (empty for an empty set)."""
    values = [
        int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")
        for s in items
    ]
    if not values:
        return ()
    return tuple(min((a * x + b) % _MERSENNE_61 for x in values) for a, b in _COEFFICIENTS)


def band_keys(signature: tuple[int, ...]) -> tuple[int, ...]:
    """One 63-bit key per band (band number included), for the database index."""
    if len(signature) != PERMUTATIONS:
        return ()
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        raw = f"{band}:" + ",".join(map(str, rows))
        digest = hashlib.blake2b(raw.encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") & _MASK_63)
    return tuple(keys)


def fingerprint(text: str) -> tuple[frozenset[str], tuple[int, ...]]:
    """Shingles and band keys of a body; no band keys when it is too short to match."""
    found = shingles(text)
    if len(found) < MIN_SHINGLES:
        return found, ()
    return found, band_keys(minhash(found))
