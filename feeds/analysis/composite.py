"""An analyzer that takes its topics from a topic classifier and the user's queries.

:class:`TopicsAnalyzer` wraps another :class:`feeds.ports.Analyzer` (which still finds the
actors and their sentiment) and replaces the ``topics`` of its result with

1. the classifier's topics (by default the IPTC Media Topics classifier), best first, then
2. one topic ``user:NAME`` (label ``NAME``, score 1.0) per user topic whose query matches,
   in the order the topics were created.

User topics are read through a callable on every document, so a topic added while a
worker runs is used as soon as the callable returns it (the composition root decides how
fresh that is). Queries are parsed once per distinct text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from feeds.analysis.budget import clip
from feeds.models import AnalysisResult, Document, TargetSentiment, TargetSpan, TopicScore
from feeds.ports import Analyzer
from feeds.query import Node, Searchable, matches, parse
from feeds.user_topics import SCORE, UserTopic


class TopicClassifier(Protocol):
    def classify_many(self, docs: Sequence[tuple[str, str]]) -> list[tuple[TopicScore, ...]]:
        """Topics of each (title, text), best first, in order."""
        ...


def _no_user_topics() -> Sequence[UserTopic]:
    return ()


class TopicsAnalyzer:
    def __init__(
        self,
        base: Analyzer,
        classifier: TopicClassifier,
        user_topics: Callable[[], Sequence[UserTopic]] = _no_user_topics,
    ) -> None:
        self._base = base
        self._classifier = classifier
        self._user_topics = user_topics
        self._parsed: dict[str, Node] = {}

    def analyze(self, doc: Document) -> AnalysisResult:
        return self.analyze_many([doc])[0]

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalysisResult]:
        """:meth:`analyze` for each document, with the classifier reading them as one
        batch (its encoder is most of the topic cost, and a batch fills it better)."""
        clipped = [clip(doc) for doc in docs]  # the base clips the same way
        bases = self._base.analyze_many([doc for doc, _ in clipped])
        topics = self._classifier.classify_many([(doc.title, doc.text) for doc, _ in clipped])
        return [
            AnalysisResult(
                topics=found + self.user_topics(doc), actors=base.actors, text_cut_at=cut_at
            )
            for (doc, cut_at), base, found in zip(clipped, bases, topics, strict=True)
        ]

    def user_topics(self, doc: Document) -> tuple[TopicScore, ...]:
        topics = self._user_topics()
        if not topics:
            return ()
        searchable = Searchable(doc.title, doc.text, doc.author, (doc.url,) if doc.url else ())
        return tuple(
            TopicScore(code=topic.code, label=topic.name, score=SCORE)
            for topic in topics
            if matches(self._node(topic.query), searchable)
        )

    def _node(self, query: str) -> Node:
        node = self._parsed.get(query)
        if node is None:
            node = self._parsed[query] = parse(query)
        return node

    def target_sentiment(self, text: str, targets: Sequence[TargetSpan]) -> list[TargetSentiment]:
        return self._base.target_sentiment(text, targets)
