"""User topics (named monitoring queries): add, list, remove, try and apply to stored articles.

The query language and the matcher are :mod:`feeds.query` and :mod:`feeds.user_topics`.
"""

from __future__ import annotations

from datetime import datetime

from feeds import user_topics
from feeds.ports import Store
from feeds.query import Node
from feeds.user_topics import Hit, UserTopic


def list_topics(store: Store) -> list[UserTopic]:
    with store.transaction() as repo:
        return repo.list_user_topics()


def add_topic(store: Store, now: datetime, name: str, query: str) -> tuple[UserTopic, Node]:
    """Check and store the topic; stored articles are not tagged until it is applied."""
    user_topics.check_name(name)
    node = user_topics.check_query(query)
    with store.transaction() as repo:
        return repo.add_user_topic(name, query, now), node


def remove_topic(store: Store, name: str) -> None:
    """Delete the topic and its matches."""
    with store.transaction() as repo:
        repo.remove_user_topic(name)


def try_query(store: Store, query: str, since: datetime | None) -> tuple[Node, list[Hit]]:
    """The stored articles a query matches, without recording anything."""
    node = user_topics.check_query(query)
    with store.transaction() as repo:
        return node, user_topics.search(repo, node, since)


def apply_topic(store: Store, name: str, since: datetime | None) -> tuple[UserTopic, list[Hit]]:
    """Re-run a topic over the stored articles and record its matches."""
    with store.transaction() as repo:
        topic = repo.get_user_topic(name)
        return topic, user_topics.apply(repo, topic, since)


def forget_user_topics() -> None:
    """Make every user-topic cache of this process read the topics again at its next use
    (after an add or a remove, so the same process sees the change at once)."""
    user_topics.forget_cached()
