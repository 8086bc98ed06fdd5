"""An article's verdict toward one actor, from the model's reading of each mention.

The rule
--------
1. **One sentence, one vote.** Mentions of the same actor in one sentence ("Russia said
   Russia would ...") are averaged into one reading of that sentence, so repeating a name
   does not weigh more than saying it once.
2. **Score** = the mean, over the sentences that mention the actor, of
   P(positive) - P(negative), rounded to three decimals. A sentence the model reads as
   neutral contributes about zero, so a long factual article with a few hostile sentences
   still leans negative, but less than an article that is hostile throughout.
3. **Class**: ``negative`` when the score is ``<= -LEAN`` *and* at least one sentence is
   itself read as negative; ``positive`` likewise (``>= LEAN`` and a positive sentence);
   ``neutral`` otherwise (``LEAN = 0.1``). The second condition keeps a run of neutral
   readings that each lean slightly one way from adding up to a verdict nobody can show:
   every non-neutral verdict has a sentence to prove it. The score's sign never
   contradicts the class (a neutral verdict may carry a small score of either sign).
4. **Evidence**: up to three distinct sentences, clearest first. For a negative (positive)
   verdict, only sentences read as negative (positive), ordered by how strongly; for a
   neutral verdict, the sentences the model is surest are neutral. A verdict may thus have
   fewer evidence sentences than mentions, never a sentence that contradicts it.

The threshold is a judgement, checked on the seed article (docs/ACTORS.md): coverage
whose mentions average |s| < 0.1 reads as mixed or factual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from feeds.models import MentionSentiment, Sentiment

LEAN = 0.1
MAX_EVIDENCE = 3
SCORE_DECIMALS = 3


@dataclass(frozen=True, slots=True)
class ReadMention:
    """One mention as read by the model, with the sentence (start offset and text) it sits in."""

    sentence_start: int
    sentence: str
    reading: MentionSentiment


@dataclass(frozen=True, slots=True)
class ActorVerdict:
    sentiment: Sentiment
    score: float
    evidence: tuple[str, ...]


def classify_score(score: float) -> Sentiment:
    if score <= -LEAN:
        return "negative"
    if score >= LEAN:
        return "positive"
    return "neutral"


def actor_verdict(mentions: Sequence[ReadMention]) -> ActorVerdict:
    """The article-level verdict toward one actor, by the module's rule."""
    by_sentence: dict[int, list[ReadMention]] = {}
    for mention in mentions:
        by_sentence.setdefault(mention.sentence_start, []).append(mention)
    if not by_sentence:
        return ActorVerdict("neutral", 0.0, ())
    sentences: list[tuple[str, MentionSentiment]] = []
    for group in by_sentence.values():
        n = len(group)
        sentences.append(
            (
                group[0].sentence,
                MentionSentiment(
                    sum(m.reading.negative for m in group) / n,
                    sum(m.reading.neutral for m in group) / n,
                    sum(m.reading.positive for m in group) / n,
                ),
            )
        )
    score = round(sum(r.score for _, r in sentences) / len(sentences), SCORE_DECIMALS)
    label = classify_score(score)
    if label != "neutral" and not any(r.sentiment == label for _, r in sentences):
        label = "neutral"  # no sentence shows it
    if label == "neutral":
        ranked = sorted(sentences, key=lambda item: -item[1].neutral)
    else:
        direction = -1.0 if label == "negative" else 1.0
        ranked = sorted(
            (item for item in sentences if item[1].sentiment == label),
            key=lambda item: -direction * item[1].score,
        )
    evidence: list[str] = []
    for text, _ in ranked:
        squashed = " ".join(text.split())
        if squashed not in evidence:
            evidence.append(squashed)
        if len(evidence) == MAX_EVIDENCE:
            break
    return ActorVerdict(label, score, tuple(evidence))
