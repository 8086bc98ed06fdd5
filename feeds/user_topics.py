"""User topics: named monitoring queries, and the use cases that run them on stored articles.

A user topic is a name and a query (:mod:`feeds.query`). New articles get it in their
``topics`` when the analyzer's matcher says so (see :mod:`feeds.analysis.composite`);
``newsmon topics test`` and ``topics apply`` run a query over stored articles:

    search(query, since):
        parse the query (a bad one fails here, with its column)
        bring the database's text index up to date           -- Repository
        ask the index for candidates: articles holding the
        words the query needs (a looser condition)           -- Repository (FTS5 / tsvector)
        keep the candidates the exact matcher accepts        -- pure (feeds.query)

    apply(name, since):
        search(topic's query, since), then in one transaction replace the topic's
        rows among the articles first seen since ``since``   -- Repository

Because the index only narrows the candidates and the matcher decides, a stored article
matches in ``topics test`` exactly when a new one would match in the pipeline.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from feeds.errors import InvalidInput
from feeds.query import Need, Node, Searchable, highlights, matches, parse, prefilter

CODE_PREFIX = "user:"
SCORE = 1.0  # a query matches or it does not
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class UserTopic:
    """A named query (from storage)."""

    name: str
    query: str
    created_at: datetime

    @property
    def code(self) -> str:
        return f"{CODE_PREFIX}{self.name}"


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """A stored article as the matcher needs it (from storage)."""

    id: int
    title: str
    text: str  # the content, else the summary (what the analyzer reads)
    author: str | None
    url: str | None
    first_seen: datetime

    def searchable(self) -> Searchable:
        return Searchable(self.title, self.text, self.author, (self.url,) if self.url else ())


@dataclass(frozen=True, slots=True)
class Hit:
    doc: SearchDoc
    highlights: tuple[str, ...]


class SearchRepository(Protocol):
    """The part of :class:`feeds.ports.Repository` these use cases need."""

    def refresh_search_index(self) -> int: ...
    def search_candidates(
        self, need: Need, since: datetime | None, newest: int | None = None
    ) -> list[SearchDoc]: ...


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"topic name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_query(query: str) -> Node:
    return parse(query)


def search(
    repo: SearchRepository,
    query: str | Node,
    since: datetime | None,
    *,
    newest: int | None = None,
) -> list[Hit]:
    """Stored articles first seen at or after ``since`` that match, oldest first;
    ``newest`` bounds how many candidate articles (the newest) are read and matched."""
    node = parse(query) if isinstance(query, str) else query
    repo.refresh_search_index()
    hits = []
    for doc in repo.search_candidates(prefilter(node), since, newest):
        searchable = doc.searchable()
        if matches(node, searchable):
            hits.append(Hit(doc, tuple(highlights(node, searchable))))
    return hits


class ApplyRepository(SearchRepository, Protocol):
    def replace_topic_matches(
        self, topic: UserTopic, article_ids: Sequence[int], since: datetime | None
    ) -> None: ...


def apply(repo: ApplyRepository, topic: UserTopic, since: datetime | None) -> list[Hit]:
    """Re-run the topic over stored articles seen since ``since`` and record its matches."""
    hits = search(repo, topic.query, since)
    repo.replace_topic_matches(topic, [hit.doc.id for hit in hits], since)
    return hits


# Seconds a process keeps the user topics it read before reading them again.
USER_TOPICS_TTL = 5.0


class UserTopicCache:
    """The stored user topics, read through ``read`` and read again when older than the
    TTL: a topic added from the command line reaches running workers within seconds; in
    the process that added it, :func:`forget_cached` makes it visible at once."""

    _instances: list[UserTopicCache] = []

    def __init__(
        self, read: Callable[[], Sequence[UserTopic]], ttl: float = USER_TOPICS_TTL
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._lock = threading.Lock()
        self._topics: Sequence[UserTopic] = ()
        self._read_at: float | None = None
        UserTopicCache._instances.append(self)

    def __call__(self) -> Sequence[UserTopic]:
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at > self._ttl:
                self._topics = tuple(self._read())
                self._read_at = now
            return self._topics

    def forget(self) -> None:
        with self._lock:
            self._read_at = None


def forget_cached() -> None:
    """Every :class:`UserTopicCache` of this process reads again at its next use."""
    for cache in UserTopicCache._instances:
        cache.forget()
