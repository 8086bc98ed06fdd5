"""Two target-sentiment models in a cascade: the small one everywhere, the large one where
one sentence holds several actors.

Sentences that name two or more actors are where a small model most often reads one tone
for all of them ("Russia's invasion was condemned while Ukraine's defenders were
praised"); they are also a minority of the mentions. So the cascade sends a target to the
large model when its sentence has other targets (``others`` not empty), and to the small
one otherwise. The rule is structural, fixed before any measurement, and needs no
threshold tuned on evaluation data. Implements :class:`feeds.ports.TargetSentimentModel`.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.models import MentionSentiment, TargetInSentence
from feeds.ports import TargetSentimentModel


class CascadeTargetSentiment:
    def __init__(self, small: TargetSentimentModel, large: TargetSentimentModel) -> None:
        self._small = small
        self._large = large

    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        to_large = [i for i, t in enumerate(targets) if t.others]
        large = set(to_large)
        to_small = [i for i in range(len(targets)) if i not in large]
        out: list[MentionSentiment | None] = [None] * len(targets)
        for picked, model in ((to_small, self._small), (to_large, self._large)):
            if picked:
                readings = model.predict([targets[i] for i in picked])
                for i, reading in zip(picked, readings, strict=True):
                    out[i] = reading
        return [r for r in out if r is not None]
