"""Wiring for topics: the IPTC classifier and the user topics read from the database.

:func:`with_topics` wraps the actor/sentiment analyzer in a
:class:`feeds.analysis.composite.TopicsAnalyzer`. The classifier is loaded once per
process (its files are read-only, so every thread shares it). User topics come from a
:class:`feeds.user_topics.UserTopicCache`, which reads them again every few seconds
through the use case that lists them.
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.analysis.composite import TopicsAnalyzer
from feeds.ports import Analyzer
from feeds.usecases.topics import list_topics
from feeds.user_topics import UserTopicCache
from storage.repository import SqlStore

if TYPE_CHECKING:
    from feeds.analysis.iptc import IptcClassifier


@lru_cache(maxsize=2)
def iptc_classifier(directory: Path | None = None) -> IptcClassifier:
    # Imported here: NumPy and the vectors are for analysing processes only.
    from feeds.analysis.iptc import MODEL_DIR, IptcClassifier

    return IptcClassifier.load(directory or MODEL_DIR)


def with_topics(base: Analyzer, store: SqlStore | None = None) -> TopicsAnalyzer:
    """IPTC topics (and, with a store, the user's topics) on top of ``base``'s actors."""
    if store is None:
        return TopicsAnalyzer(base, iptc_classifier())
    return TopicsAnalyzer(base, iptc_classifier(), UserTopicCache(partial(list_topics, store)))
