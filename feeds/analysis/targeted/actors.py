"""Per-actor sentiment with a target-dependent model: mentions in, verdicts out.

Each mention is cut to the sentence that holds it and read by the
:class:`~feeds.ports.TargetSentimentModel` *with respect to that mention*, with the other
actors' mentions in that sentence passed as its ``others`` (the model marks them); the readings
of one actor become its article-level verdict by
:func:`~feeds.analysis.targeted.verdict.actor_verdict`.
All mentions of an article, watched and discovered, go to the model in one call, so it can
batch them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
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


def targets_in_sentences(
    text: str,
    sentences: list[Span],
    spans: Sequence[tuple[int, int]],
    owners: Sequence[Hashable] | None = None,
) -> list[tuple[int, TargetInSentence]]:
    """Each span cut to its sentence, as (sentence start, request), in the order given.

    A request's ``others`` are the spans that lie wholly in the same sentence and belong
    to another owner (``owners[i]`` says whose span ``i`` is, e.g. the actor; by default
    every span is its own owner, and an identical span is never an "other").
    """
    keys: Sequence[Hashable] = owners if owners is not None else spans
    by_start = sorted(range(len(spans)), key=lambda i: spans[i])
    starts = [spans[i][0] for i in by_start]
    out = []
    for i, (start, end) in enumerate(spans):
        span = sentence_around(text, sentences, start, end)
        others = set()
        for j in by_start[bisect_left(starts, span.start) : bisect_left(starts, span.end)]:
            s, e = spans[j]
            if keys[j] != keys[i] and e <= span.end and (s, e) != (start, end):
                others.add((s - span.start, e - span.start))
        request = TargetInSentence(
            text[span.start : span.end], start - span.start, end - span.start, tuple(sorted(others))
        )
        out.append((span.start, request))
    return out


def actor_sentiments(
    text: str,
    sentences: list[Span],
    actors: Sequence[ActorMentions],
    model: TargetSentimentModel,
) -> tuple[ActorSentiment, ...]:
    """One :class:`ActorSentiment` per actor with mentions, in the order given."""
    # every mention is read with the other actors' mentions of its sentence marked
    # (watched and discovered alike); the actor's own further mentions are not "others"
    spans = [span for actor in actors for span in actor.spans]
    owners = [index for index, actor in enumerate(actors) for _ in actor.spans]
    cut = targets_in_sentences(text, sentences, spans, owners)
    requests = [request for _, request in cut]
    readings = model.predict(requests) if requests else []
    per_actor: dict[int, list[ReadMention]] = {}
    for index, (sentence_start, request), reading in zip(owners, cut, readings, strict=True):
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
