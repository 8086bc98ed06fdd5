"""User topics, their matches and the full-text search that narrows them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    delete,
    literal,
    select,
)

from feeds.errors import AlreadyExists, NotFound
from feeds.query import Need
from feeds.user_topics import SearchDoc, UserTopic
from storage import convert
from storage.repository import search
from storage.repository.base import RepositoryBase, chunks
from storage.tables import (
    ARTICLE,
    ARTICLE_TOPIC,
    USER_TOPIC,
)


class TopicRows(RepositoryBase):
    def add_user_topic(self, name: str, query: str, now: datetime) -> UserTopic:
        inserted = self._session.execute(
            self._insert(USER_TOPIC)
            .values(name=name, query=query, created_at=now)
            .on_conflict_do_nothing(index_elements=[USER_TOPIC.c.name])
            .returning(USER_TOPIC.c.id)
        ).scalar_one_or_none()
        if inserted is None:
            raise AlreadyExists(f"a topic named {name!r} already exists")
        return self.get_user_topic(name)

    def get_user_topic(self, name: str) -> UserTopic:
        row = self._one_or_none(select(USER_TOPIC).where(USER_TOPIC.c.name == name))
        if row is None:
            raise NotFound(f"no topic named {name!r} (see `newsmon topics list`)")
        return convert.user_topic(row)

    def list_user_topics(self) -> list[UserTopic]:
        rows = self._rows(select(USER_TOPIC).order_by(USER_TOPIC.c.created_at, USER_TOPIC.c.id))
        return [convert.user_topic(r) for r in rows]

    def remove_user_topic(self, name: str) -> None:
        """Delete the topic and its matches."""
        topic = self.get_user_topic(name)
        self._session.execute(delete(USER_TOPIC).where(USER_TOPIC.c.name == name))
        self._session.execute(delete(ARTICLE_TOPIC).where(ARTICLE_TOPIC.c.code == topic.code))

    def refresh_search_index(self) -> int:
        return search.refresh(self._session)

    def search_candidates(
        self, need: Need, since: datetime | None, newest: int | None = None
    ) -> list[SearchDoc]:
        return search.candidates(self._session, need, since, newest)

    def replace_topic_matches(
        self, topic: UserTopic, article_ids: Sequence[int], since: datetime | None
    ) -> None:
        """Make ``article_ids`` the topic's matches among the articles seen since ``since``."""
        scope = select(ARTICLE.c.id)
        if since is not None:
            scope = scope.where(ARTICLE.c.first_seen >= since)
        self._session.execute(
            delete(ARTICLE_TOPIC).where(
                ARTICLE_TOPIC.c.code == topic.code, ARTICLE_TOPIC.c.article_id.in_(scope)
            )
        )
        for chunk in chunks(list(dict.fromkeys(article_ids))):
            rows = select(
                ARTICLE.c.id,
                literal(topic.code),
                literal(topic.name),
                literal(1.0),
                ARTICLE.c.first_seen,
            ).where(ARTICLE.c.id.in_(chunk))
            self._session.execute(
                ARTICLE_TOPIC.insert().from_select(
                    ["article_id", "code", "label", "score", "seen_at"], rows
                )
            )
