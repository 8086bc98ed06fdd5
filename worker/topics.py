"""Wiring for topics: the IPTC classifier and the user topics read from the database.

:func:`with_topics` wraps the actor/sentiment analyzer in a
:class:`feeds.analysis.composite.TopicsAnalyzer`. The classifier is loaded once per
process (its files are read-only, so every thread shares it). User topics are re-read
from the database at most every :data:`USER_TOPICS_TTL` seconds, so a topic added from
the command line reaches running workers within seconds; in the process that added it,
:func:`forget_user_topics` makes it visible at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.analysis.composite import TopicsAnalyzer
from feeds.ports import Analyzer
from feeds.usecases.topics import list_topics
from feeds.user_topics import UserTopic
from storage.repository import SqlStore

if TYPE_CHECKING:
    from feeds.analysis.iptc import IptcClassifier

USER_TOPICS_TTL = 5.0


@lru_cache(maxsize=2)
def iptc_classifier(directory: Path | None = None) -> IptcClassifier:
    # Imported here: NumPy and the vectors are for analysing processes only.
    from feeds.analysis.iptc import MODEL_DIR, IptcClassifier

    return IptcClassifier.load(directory or MODEL_DIR)


class UserTopicCache:
    """The stored user topics, re-read when older than the TTL."""

    _instances: list[UserTopicCache] = []

    def __init__(self, store: SqlStore, ttl: float = USER_TOPICS_TTL) -> None:
        self._store = store
        self._ttl = ttl
        self._lock = threading.Lock()
        self._topics: Sequence[UserTopic] = ()
        self._read_at: float | None = None
        UserTopicCache._instances.append(self)

    def __call__(self) -> Sequence[UserTopic]:
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at > self._ttl:
                self._topics = tuple(list_topics(self._store))
                self._read_at = now
            return self._topics

    def forget(self) -> None:
        with self._lock:
            self._read_at = None


def forget_user_topics() -> None:
    for cache in UserTopicCache._instances:
        cache.forget()


def with_topics(base: Analyzer, store: SqlStore | None = None) -> TopicsAnalyzer:
    """IPTC topics (and, with a store, the user's topics) on top of ``base``'s actors."""
    if store is None:
        return TopicsAnalyzer(base, iptc_classifier())
    return TopicsAnalyzer(base, iptc_classifier(), UserTopicCache(store))
