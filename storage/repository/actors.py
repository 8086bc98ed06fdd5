"""Actors: the user's watchlist and the mentions digests and spikes read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    delete,
    func,
    select,
)

from feeds.errors import NotFound
from feeds.models import (
    ActorMention,
    WatchedActor,
)
from storage import convert
from storage.coltypes import dump_strings
from storage.repository.base import RepositoryBase, chunks
from storage.tables import (
    ARTICLE,
    ARTICLE_ACTOR,
    WATCHED_ACTOR,
)


class ActorRows(RepositoryBase):
    def actor_mentions(
        self, names: Sequence[str], since: datetime, until: datetime
    ) -> list[ActorMention]:
        """Mentions of these actors (matched ignoring case) in articles first seen in
        ``[since, until)``, oldest first. Duplicates of another article are left out."""
        wanted = list(dict.fromkeys(n.casefold() for n in names))
        if not wanted:
            return []
        found: list[ActorMention] = []
        for chunk in chunks(wanted):
            rows = self._rows(
                select(
                    ARTICLE_ACTOR.c.article_id,
                    ARTICLE_ACTOR.c.name,
                    ARTICLE_ACTOR.c.sentiment,
                    ARTICLE_ACTOR.c.score,
                    ARTICLE_ACTOR.c.evidence,
                    ARTICLE.c.story_id,
                    ARTICLE.c.first_seen,
                )
                .join(ARTICLE, ARTICLE.c.id == ARTICLE_ACTOR.c.article_id)
                .where(
                    func.lower(ARTICLE_ACTOR.c.name).in_(chunk),
                    ARTICLE.c.first_seen >= since,
                    ARTICLE.c.first_seen < until,
                    ARTICLE.c.duplicate_of.is_(None),
                )
            )
            found.extend(convert.actor_mention(r) for r in rows)
        found.sort(key=lambda m: (m.first_seen, m.article_id, m.name))
        return found

    def save_watched_actor(self, actor: WatchedActor, now: datetime) -> None:
        values = {
            "name": actor.name,
            "name_key": actor.name.casefold(),
            "type": actor.type,
            "aliases": dump_strings(actor.aliases),
            "hidden": actor.hidden,
            "created_at": now,
        }
        stmt = self._insert(WATCHED_ACTOR).values(**values)
        self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[WATCHED_ACTOR.c.name_key],
                set_={k: v for k, v in values.items() if k != "name_key"},
            )
        )

    def list_watched_actors(self) -> list[WatchedActor]:
        rows = self._rows(select(WATCHED_ACTOR).order_by(WATCHED_ACTOR.c.name_key))
        return [convert.watched_actor(r) for r in rows]

    def delete_watched_actor(self, name: str) -> None:
        deleted = self._session.execute(
            delete(WATCHED_ACTOR)
            .where(WATCHED_ACTOR.c.name_key == name.casefold())
            .returning(WATCHED_ACTOR.c.id)
        ).scalar_one_or_none()
        if deleted is None:
            raise NotFound(f"no user-added actor named {name!r} (see `newsmon actors list`)")
