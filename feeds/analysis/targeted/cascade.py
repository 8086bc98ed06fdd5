"""Two target-sentiment models in a cascade: the small one first, the large one where the
small one is likely to be wrong.

Two rules send a target on to the large model, both fixed before any measurement:

* *structural* (``several_actors``): its sentence names other targets (``others`` not
  empty). Such sentences are where a small model most often reads one tone for all of them
  ("Russia's invasion was condemned while Ukraine's defenders were praised"), and they
  are a minority of the mentions. These go to the large model without a small reading.
* *unsure* (``unsure_below``): the small model's most probable class has less than this
  probability. A distilled student agrees with its teacher far more often where it is
  confident, so the teacher's time goes where the two are likely to disagree.

Implements :class:`feeds.ports.TargetSentimentModel`.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.models import MentionSentiment, TargetInSentence
from feeds.ports import TargetSentimentModel


class CascadeTargetSentiment:
    def __init__(
        self,
        small: TargetSentimentModel,
        large: TargetSentimentModel,
        *,
        several_actors: bool = True,
        unsure_below: float | None = None,
    ) -> None:
        self._small = small
        self._large = large
        self._several = several_actors
        self._unsure_below = unsure_below

    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        out: list[MentionSentiment | None] = [None] * len(targets)
        to_large = [i for i, t in enumerate(targets) if self._several and t.others]
        straight = set(to_large)
        to_small = [i for i in range(len(targets)) if i not in straight]
        if to_small:
            readings = self._small.predict([targets[i] for i in to_small])
            for i, reading in zip(to_small, readings, strict=True):
                if self._unsure_below is not None and _top(reading) < self._unsure_below:
                    to_large.append(i)
                else:
                    out[i] = reading
        if to_large:
            to_large.sort()
            readings = self._large.predict([targets[i] for i in to_large])
            for i, reading in zip(to_large, readings, strict=True):
                out[i] = reading
        return [r for r in out if r is not None]


def _top(reading: MentionSentiment) -> float:
    return max(reading.negative, reading.neutral, reading.positive)
