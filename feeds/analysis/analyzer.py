"""The article analyzer: actors with sentiment toward each, and keyword topics.

It implements :class:`feeds.ports.Analyzer`. Actors come from the watchlist matcher and
discovery; sentiment toward each comes from the target-sentiment model it is given
(:mod:`feeds.analysis.targeted`: the accurate or fast classifier), or, without one, from
VADER on the clause around each mention (the first, lexicon version). Keyword topic rules
are scored when given; the pipeline wraps it in :class:`~feeds.analysis.composite.
TopicsAnalyzer`, which takes its topics from the IPTC classifier instead.

``analyze`` reads the title as its own paragraph before the text, so a headline mention
counts (and may be evidence) like any other sentence. Actors are listed by number of
mentions, most first, ties in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.analysis.budget import clip
from feeds.analysis.sentences import Span, sentence_at, split_sentences
from feeds.analysis.sentiment import (
    SCORE_DECIMALS,
    ScoredPassage,
    SentimentScorer,
    classify,
    clause_at,
    verdict,
)
from feeds.analysis.targeted.actors import (
    MAX_READS_PER_ARTICLE,
    MAX_SENTENCES_PER_ACTOR,
    plan_readings,
    read_targets,
    targets_in_sentences,
    watched_and_discovered,
)
from feeds.analysis.topics import score_topics
from feeds.analysis.watchlist import ActorMatcher, Mention
from feeds.errors import InvalidInput
from feeds.models import (
    Actor,
    ActorSentiment,
    AnalysisResult,
    Document,
    TargetSentiment,
    TargetSpan,
    TopicRule,
    TopicScore,
)
from feeds.ports import TargetSentimentModel


class ArticleAnalyzer:
    """Build once per process (compiles the watchlist, loads VADER), then reuse.

    It keeps no per-document state, so one instance may serve every article.
    """

    def __init__(
        self,
        actors: Sequence[Actor],
        topic_rules: Sequence[TopicRule],
        *,
        target_model: TargetSentimentModel | None = None,
        discover: bool = False,
        reading_budget: tuple[int, int] | None = None,
    ) -> None:
        """With ``target_model``, actor sentiment comes from that model instead of VADER
        (see :mod:`feeds.analysis.targeted`); ``discover`` adds actors not on the watchlist;
        ``reading_budget``: (sentences per actor, reads per article) the model reads, by
        default :data:`~feeds.analysis.targeted.actors.MAX_SENTENCES_PER_ACTOR` and
        :data:`~feeds.analysis.targeted.actors.MAX_READS_PER_ARTICLE`.
        """
        self._matcher = ActorMatcher(actors)
        self._rules = tuple(topic_rules)
        self._scorer = SentimentScorer()
        self._target_model = target_model
        self._discover = discover
        self._budget = reading_budget or (MAX_SENTENCES_PER_ACTOR, MAX_READS_PER_ARTICLE)
        self._known_names = tuple(n for a in actors for n in (a.name, *a.aliases))

    def analyze(self, doc: Document) -> AnalysisResult:
        if self._target_model is not None:
            return self.analyze_many([doc])[0]
        topics, cut_at, text = self._read(doc)
        sentences = split_sentences(text)
        clause_scores: dict[Span, float] = {}
        by_actor: dict[Actor, list[ScoredPassage]] = {}
        for mention in self._matcher.find(text):
            passage = self._passage(text, sentences, mention.start, clause_scores)
            if passage is not None:
                by_actor.setdefault(mention.actor, []).append(passage)
        # dicts keep first-appearance order, so a stable sort by count breaks ties by it
        ranked = sorted(by_actor.items(), key=lambda item: -len(item[1]))
        return AnalysisResult(
            topics=topics,
            actors=tuple(_actor_sentiment(actor, passages) for actor, passages in ranked),
            text_cut_at=cut_at,
        )

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalysisResult]:
        """:meth:`analyze` for each document; with a target model, the mentions of all
        the documents go to it in one call, so its batches are full and sorted by length
        across articles rather than within each (the same readings, less padding)."""
        model = self._target_model
        if model is None:
            return [self.analyze(doc) for doc in docs]
        planned = []
        for doc in docs:
            topics, cut_at, text = self._read(doc)
            found = [(m.actor.name, m.actor.type, m.start, m.end) for m in self._matcher.find(text)]
            actors = watched_and_discovered(text, found, self._known_names, discover=self._discover)
            plan = plan_readings(text, split_sentences(text), actors, self._budget)
            planned.append((topics, cut_at, plan))
        readings = read_targets(model, [r for _, _, plan in planned for r in plan.requests])
        results = []
        taken = 0
        for topics, cut_at, plan in planned:
            mine = readings[taken : taken + len(plan.chosen)]
            taken += len(plan.chosen)
            results.append(
                AnalysisResult(topics=topics, actors=plan.finish(mine), text_cut_at=cut_at)
            )
        return results

    def _read(self, doc: Document) -> tuple[tuple[TopicScore, ...], int | None, str]:
        """The keyword topics, where the text was cut, and the text analysed: the title as
        its own paragraph, then the (clipped) body."""
        doc, cut_at = clip(doc)
        topics = score_topics(self._rules, doc.title, doc.text) if self._rules else ()
        text = f"{doc.title}\n\n{doc.text}" if doc.title.strip() else doc.text
        return topics, cut_at, text

    def target_sentiment(self, text: str, targets: Sequence[TargetSpan]) -> list[TargetSentiment]:
        """Score the clause holding each span's start; raises :class:`InvalidInput`."""
        for target in targets:
            if not 0 <= target.start <= target.end <= len(text):
                raise InvalidInput(
                    f"target span [{target.start}, {target.end}) does not fit a text of "
                    f"{len(text)} characters"
                )
        sentences = split_sentences(text)
        if self._target_model is not None:
            # the other requested spans of a target's sentence are marked as its others
            spans = [(t.start, t.end) for t in targets]
            cut = targets_in_sentences(text, sentences, spans)
            readings = self._target_model.predict([request for _, request in cut])
            return [
                TargetSentiment(t.start, t.end, r.sentiment, round(r.score, SCORE_DECIMALS))
                for t, r in zip(targets, readings, strict=True)
            ]
        clause_scores: dict[Span, float] = {}
        results: list[TargetSentiment] = []
        for target in targets:
            passage = self._passage(text, sentences, target.start, clause_scores)
            score = 0.0 if passage is None else round(passage.score, SCORE_DECIMALS)
            results.append(
                TargetSentiment(
                    start=target.start,
                    end=target.end,
                    sentiment=classify(score),
                    score=score,
                )
            )
        return results

    def mentions(self, text: str) -> list[Mention]:
        """Actor mentions in ``text`` (for callers that want spans, e.g. highlighting)."""
        return self._matcher.find(text)

    def _passage(
        self, text: str, sentences: list[Span], offset: int, cache: dict[Span, float]
    ) -> ScoredPassage | None:
        sentence = sentence_at(sentences, offset)
        if sentence is None:
            return None
        clause = clause_at(text, sentence, offset)
        if clause not in cache:
            cache[clause] = self._scorer.score(text[clause.start : clause.end])
        return ScoredPassage(
            clause=clause, sentence=text[sentence.start : sentence.end], score=cache[clause]
        )


def _actor_sentiment(actor: Actor, passages: list[ScoredPassage]) -> ActorSentiment:
    result = verdict(passages)
    return ActorSentiment(
        name=actor.name,
        type=actor.type,
        sentiment=result.sentiment,
        score=result.score,
        evidence=result.evidence,
        mentions=len(passages),
    )
