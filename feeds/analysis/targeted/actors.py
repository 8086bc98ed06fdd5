"""Per-actor sentiment with a target-dependent model: mentions in, verdicts out.

Each mention is cut to the sentence that holds it and read by the
:class:`~feeds.ports.TargetSentimentModel` *with respect to that mention*; the readings
of one actor become its article-level verdict by
:func:`~feeds.analysis.targeted.verdict.actor_verdict`.
All mentions of an article, watched and discovered, go to the model in one call, so it can
batch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from feeds.analysis.discovery import discover_actors
from feeds.analysis.sentences import Span, sentence_at
from feeds.analysis.targeted.verdict import ReadMention, actor_verdict
from feeds.models import ActorSentiment, ActorType, TargetInSentence
from feeds.ports import TargetSentimentModel


@dataclass(frozen=True, slots=True)
class ActorMentions:
    """An actor and the character spans of its mentions in one text."""

    name: str
    type: ActorType
    spans: tuple[tuple[int, int], ...]
    watched: bool = True


def sentence_around(text: str, sentences: list[Span], start: int, end: int) -> Span:
    """The sentence holding ``start``, widened to cover ``end`` (or the whole text)."""
    found = sentence_at(sentences, start)
    if found is None:
        return Span(0, len(text))
    return Span(min(found.start, start), max(found.end, end))


def target_in_sentence(text: str, sentences: list[Span], start: int, end: int) -> TargetInSentence:
    span = sentence_around(text, sentences, start, end)
    return TargetInSentence(text[span.start : span.end], start - span.start, end - span.start)


def actor_sentiments(
    text: str,
    sentences: list[Span],
    actors: Sequence[ActorMentions],
    model: TargetSentimentModel,
) -> tuple[ActorSentiment, ...]:
    """One :class:`ActorSentiment` per actor with mentions, in the order given."""
    requests: list[TargetInSentence] = []
    owners: list[tuple[int, int]] = []  # (actor index, sentence start)
    for index, actor in enumerate(actors):
        for start, end in actor.spans:
            span = sentence_around(text, sentences, start, end)
            requests.append(
                TargetInSentence(text[span.start : span.end], start - span.start, end - span.start)
            )
            owners.append((index, span.start))
    readings = model.predict(requests) if requests else []
    per_actor: dict[int, list[ReadMention]] = {}
    for (index, sentence_start), request, reading in zip(owners, requests, readings, strict=True):
        read = ReadMention(sentence_start, request.sentence, reading)
        per_actor.setdefault(index, []).append(read)
    results = []
    for index, actor in enumerate(actors):
        mentions = per_actor.get(index)
        if not mentions:
            continue
        verdict = actor_verdict(mentions)
        results.append(
            ActorSentiment(
                name=actor.name,
                type=actor.type,
                sentiment=verdict.sentiment,
                score=verdict.score,
                evidence=verdict.evidence,
                mentions=len(mentions),
                watched=actor.watched,
            )
        )
    return tuple(results)


def watched_and_discovered(
    text: str,
    mentions: Sequence[tuple[str, ActorType, int, int]],
    known_names: Sequence[str],
    *,
    discover: bool,
) -> list[ActorMentions]:
    """Watched actors (most mentioned first, ties by first appearance), then discovered ones.

    ``mentions`` are (name, type, start, end) of watchlist matches in text order.
    """
    spans: dict[tuple[str, ActorType], list[tuple[int, int]]] = {}
    for name, kind, start, end in mentions:
        spans.setdefault((name, kind), []).append((start, end))
    ranked = sorted(spans.items(), key=lambda item: -len(item[1]))
    out = [ActorMentions(name, kind, tuple(found)) for (name, kind), found in ranked]
    if discover:
        taken = [(start, end) for _, _, start, end in mentions]
        out.extend(
            ActorMentions(d.name, d.type, d.spans, watched=False)
            for d in discover_actors(text, taken, known_names)
        )
    return out
