"""Lexicon sentiment toward a mention: VADER on the clause that contains it.

Why the clause and not the sentence
-----------------------------------
VADER scores a whole string; a news sentence often judges two actors in opposite ways
("Russia's brutal invasion was condemned, while Ukraine's defenders were praised"). We
cut the sentence at clause seams that mark a change of subject or stance — ``;``, ``:``,
a spaced dash, "but", and a comma before "while", "whereas", "although", "though", "yet",
"even as" or "despite" — and score only the part that holds the mention. A part shorter
than two words is not a clause, and the whole sentence is scored instead.

Measured on the NewsMTSC training sentences (targets with gold polarity), clause scoring
is as good as whole-sentence VADER (macro-F1 0.53 vs 0.52) while fixing the contrast case
above; fixed word windows around the mention did no better. It is still a lexicon: it
cannot tell who does what to whom ("Russia attacked Ukraine" is negative for both).
Later work replaces the inside of :class:`SentimentScorer`; the seam stays.

Classes and article verdict
---------------------------
* A compound score ``<= -0.05`` is negative, ``>= 0.05`` positive, neutral in between
  (VADER's own convention).
* An actor's article-level score is the mean over the distinct clauses that mention it,
  so naming an actor three times in one clause is one vote, not three. Scores are rounded
  to three decimals *before* they are classified, so a reported score and its class
  never disagree.
* Evidence: up to three distinct sentences, the most polar first, in the direction of
  the verdict (only negative clauses for a negative verdict); for a neutral verdict the
  most neutral first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from feeds.analysis.sentences import Span
from feeds.analysis.targeted.verdict import ActorVerdict
from feeds.models import Sentiment

NEGATIVE_AT = -0.05  # compound <= this is negative
POSITIVE_AT = 0.05  # compound >= this is positive
MAX_EVIDENCE = 3
SCORE_DECIMALS = 3  # scores are reported, and classified, at this precision
_MIN_CLAUSE_WORDS = 2

_CLAUSE_SEAM = re.compile(
    r"\s*(?:[;:]|\s[-–—]\s|,\s*(?=(?:while|whereas|although|though|yet|even as|despite)\b)"
    r"|\s(?=but\b))\s*",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def classify(score: float) -> Sentiment:
    """The class of a compound score, by the module's thresholds."""
    if score <= NEGATIVE_AT:
        return "negative"
    if score >= POSITIVE_AT:
        return "positive"
    return "neutral"


def clause_at(text: str, sentence: Span, offset: int) -> Span:
    """The clause of ``sentence`` that contains ``offset`` (or the sentence itself)."""
    start, end = sentence
    for seam in _CLAUSE_SEAM.finditer(text, sentence.start, sentence.end):
        if seam.start() <= offset:
            start = seam.end()
        else:
            end = seam.start()
            break
    if start >= end or len(text[start:end].split()) < _MIN_CLAUSE_WORDS:
        return sentence
    return Span(start, end)


class SentimentScorer:
    """VADER, built once (it loads its lexicon from disk) and reused for every text."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        """Compound polarity of ``text`` in [-1, 1]."""
        return float(self._vader.polarity_scores(text)["compound"])


@dataclass(frozen=True, slots=True)
class ScoredPassage:
    """One clause that mentions an actor, with the sentence it came from."""

    clause: Span
    sentence: str
    score: float


def verdict(passages: Iterable[ScoredPassage]) -> ActorVerdict:
    """Article-level sentiment toward one actor from the passages that mention it."""
    unique = list({p.clause: p for p in passages}.values())
    if not unique:
        return ActorVerdict("neutral", 0.0, ())
    mean = round(sum(p.score for p in unique) / len(unique), SCORE_DECIMALS)
    label = classify(mean)
    if label == "negative":
        ranked = sorted((p for p in unique if p.score <= NEGATIVE_AT), key=lambda p: p.score)
    elif label == "positive":
        ranked = sorted((p for p in unique if p.score >= POSITIVE_AT), key=lambda p: -p.score)
    else:
        ranked = sorted(unique, key=lambda p: abs(p.score))
    evidence: list[str] = []
    for passage in ranked:
        sentence = _SPACES.sub(" ", passage.sentence)
        if sentence not in evidence:
            evidence.append(sentence)
        if len(evidence) == MAX_EVIDENCE:
            break
    return ActorVerdict(label, mean, tuple(evidence))
