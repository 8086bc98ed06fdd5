"""Per-actor sentiment with a target-dependent model: mentions in, verdicts out.

Each mention is cut to the sentence that holds it; one that is only the *source* of its
sentence ("UK intelligence said …", :mod:`~feeds.analysis.targeted.roles`) reads as neutral,
every other is read by the
:class:`~feeds.ports.TargetSentimentModel` *with respect to that mention*, with the other
actors' mentions in that sentence passed as its ``others`` (the model marks them); the readings
of one actor become its article-level verdict by
:func:`~feeds.analysis.targeted.verdict.actor_verdict`.
The mentions to read are planned per article (:func:`plan_readings`, within the reading
budget); the requests of every article of a batch, watched and discovered actors alike,
go to the model in one call, so it can batch them, and each plan turns its share of the
readings into verdicts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from feeds.analysis.discovery import discover_actors
from feeds.analysis.sentences import Span, sentence_at
from feeds.analysis.targeted.roles import is_source
from feeds.analysis.targeted.verdict import ReadMention, actor_verdict
from feeds.models import ActorSentiment, ActorType, MentionSentiment, TargetInSentence
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


# what a source mention reads as: the sentence reports what the source says, and says
# nothing about the source itself (see roles.py)
SOURCE_READING = MentionSentiment(0.0, 1.0, 0.0)


def read_targets(
    model: TargetSentimentModel, requests: Sequence[TargetInSentence]
) -> list[MentionSentiment]:
    """The model's reading of each request, in order; sources of their sentence are not sent
    to the model and read as :data:`SOURCE_READING`."""
    to_model = [i for i, r in enumerate(requests) if not is_source(r.sentence, r.start, r.end)]
    readings = [SOURCE_READING] * len(requests)
    if to_model:
        for i, reading in zip(
            to_model, model.predict([requests[i] for i in to_model]), strict=True
        ):
            readings[i] = reading
    return readings


# The reading budget: every mention is found and counted, but the model reads at most
# this many sentences per actor and per article (docs/ACTORS.md measures what it costs).
# One mention per (actor, sentence) is read: the verdict gives a sentence one vote anyway.
MAX_SENTENCES_PER_ACTOR = 4
MAX_READS_PER_ARTICLE = 24


def reading_plan(
    sentences_of: Sequence[Sequence[int]],
    per_actor: int = MAX_SENTENCES_PER_ACTOR,
    per_article: int = MAX_READS_PER_ARTICLE,
) -> list[list[int]]:
    """Which mentions to read: ``sentences_of[a]`` lists, in text order, the sentence
    start of each mention of actor ``a`` (actors ranked, most mentioned first); returns for
    each actor the indices of the mentions to read.

    Per actor, the first mention of each distinct sentence in text order (headline and lead
    first, as news puts what matters first), at most ``per_actor``; across the article, in
    rounds, so every actor has its first sentence read before any has its second, until
    ``per_article`` reads (the first round is always read whole: no actor goes unread).
    """
    firsts: list[list[int]] = []
    for starts in sentences_of:
        seen: set[int] = set()
        picks = []
        for i, start in enumerate(starts):
            if start not in seen:
                seen.add(start)
                picks.append(i)
        firsts.append(picks[:per_actor])
    plan: list[list[int]] = [[] for _ in sentences_of]
    budget = per_article
    for depth in range(max((len(p) for p in firsts), default=0)):
        for a, picks in enumerate(firsts):
            if budget <= 0 and depth > 0:  # every actor has its first sentence read
                return plan
            if depth < len(picks):
                plan[a].append(picks[depth])
                budget -= 1
    return plan


@dataclass(frozen=True, slots=True)
class PlannedReadings:
    """What one article's actors need from the model (``requests``), and how the readings
    become their verdicts (:meth:`finish`). Planning and finishing are apart so that the
    requests of many articles can go to the model in one call (``analyze_many``)."""

    actors: tuple[ActorMentions, ...]
    mentions: tuple[int, ...]  # every mention of each actor, read or not
    chosen: tuple[tuple[int, int, TargetInSentence], ...]  # (actor, sentence start, request)

    @property
    def requests(self) -> list[TargetInSentence]:
        return [request for _, _, request in self.chosen]

    def finish(self, readings: Sequence[MentionSentiment]) -> tuple[ActorSentiment, ...]:
        """One :class:`ActorSentiment` per actor with a reading, in the actors' order;
        ``readings`` in the order of :attr:`requests` (from :func:`read_targets`)."""
        per_actor: dict[int, list[ReadMention]] = {}
        for (index, sentence_start, request), reading in zip(self.chosen, readings, strict=True):
            read = ReadMention(sentence_start, request.sentence, reading)
            per_actor.setdefault(index, []).append(read)
        results = []
        for index, actor in enumerate(self.actors):
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
                    mentions=self.mentions[index],
                    watched=actor.watched,
                )
            )
        return tuple(results)


def plan_readings(
    text: str,
    sentences: list[Span],
    actors: Sequence[ActorMentions],
    budget: tuple[int, int] = (MAX_SENTENCES_PER_ACTOR, MAX_READS_PER_ARTICLE),
) -> PlannedReadings:
    """The mentions the model reads for ``actors`` (ranked: the reading budget, sentences
    per actor and reads per article, spends on the first actors first)."""
    # every mention is cut with the other actors' mentions of its sentence marked
    # (watched and discovered alike); the actor's own further mentions are not "others"
    spans = [span for actor in actors for span in actor.spans]
    owners = [index for index, actor in enumerate(actors) for _ in actor.spans]
    cut = targets_in_sentences(text, sentences, spans, owners)
    by_actor: list[list[tuple[int, TargetInSentence]]] = [[] for _ in actors]
    for index, item in zip(owners, cut, strict=True):
        by_actor[index].append(item)
    plan = reading_plan([[start for start, _ in items] for items in by_actor], *budget)
    chosen = tuple((a, *by_actor[a][i]) for a, picks in enumerate(plan) for i in picks)
    return PlannedReadings(tuple(actors), tuple(len(items) for items in by_actor), chosen)


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
