"""A learned same-event score for an (article, story) pair.

A logistic model over the pair's evidence (:class:`PairEvidence`): the term cosine, the
salient-name cosine (the term cosine when a side has no names), the agreeing event
figures (at most :data:`MAX_AGREE` count) and the time from the article to the story's
coverage. It was
fitted by ``tools/stories/fit_scorer.py`` on the article-story candidate pairs of replayed
runs of ECB+ topics 1-10 (the tuning topics of the quality bench), with the signs
constrained to what the evidence means -- more shared words, names or figures never
lower the score, more hours never raise it -- so no combination of features can make an
article unable to join a story that matches it better in every respect. Its weights are
below, with the command that produced them in docs/BENCHMARKS.md ("A learned same-event
scorer, second attempt").

Not adopted: on the held-out topics 11-20 it did worse than the hand-set rule of
:func:`feeds.dedup.stories.qualifies` (docs/BENCHMARKS.md), so ``LEARNED`` is off and this
module is there to be re-fitted and compared (``bench/stories_replay.py --set LEARNED=1``).

Pure; :mod:`feeds.dedup.stories` calls it when ``LEARNED`` is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGREE = 3

# Fitted weights: term cosine, name (else term) cosine, agreeing figures, log(1 + hours).
# The fit kept only the names: the term cosine and the hours came out with the wrong sign
# and are held at zero (docs/BENCHMARKS.md).
WEIGHTS = (0.0, 6.6461, 0.1372, 0.0)
BIAS = -2.2466
# The probability an article needs to join a story (chosen on topics 1-10 from 0.3-0.7).
SCORER_THRESHOLD = 0.4


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """What an article and one candidate story have in common: the scorer's input, made
    by :func:`feeds.dedup.stories.pair_evidence`."""

    terms: float  # cosine of the term vectors
    names: float  # cosine of the salient names (0 when either side has none)
    agree: int  # event figures that agree (the same day, record, age, magnitude, toll)
    hours: float  # from the article's event time to the story's coverage (0 inside it)
    named: bool = True  # both sides have salient names


def features(pair: PairEvidence) -> tuple[float, float, float, float]:
    """The model's inputs for one pair, in the order of :data:`WEIGHTS`.

    The second is the salient-name cosine, or the term cosine when a side has no salient
    names: who and where when the texts say it, else the words (so an article without
    names can still join a story that tells its event in the same words)."""
    who = pair.names if pair.named else pair.terms
    return (pair.terms, who, float(min(pair.agree, MAX_AGREE)), math.log1p(pair.hours))


def same_event_probability(pair: PairEvidence) -> float:
    """How likely the article tells the story's event, 0-1."""
    z = BIAS + sum(w * x for w, x in zip(WEIGHTS, features(pair), strict=True))
    return 1.0 / (1.0 + math.exp(-z))
