"""The database schema as SQLModel tables.

These classes never leave ``storage``: :mod:`storage.repository` turns rows into the frozen
dataclasses of :mod:`feeds.models`. The repository talks to the tables through SQLAlchemy
Core (``Feed.__table__`` …) because race-free upserts (``INSERT … ON CONFLICT``) and batch
loading are Core features; the ORM identity map would add nothing but bookkeeping.

Design notes:

* One ``article`` row per article, however many feeds carry it. Its cross-feed identity is
  ``canonical_url`` (nullable, unique) and ``content_hash`` (unique); both are enforced by
  the database so concurrent writers cannot create duplicates.
* ``sighting`` records which feed carried which article under which per-feed key. Deleting
  a feed deletes its sightings (``ON DELETE CASCADE``, and the repository deletes them
  explicitly too) but keeps the articles: another feed may carry them and exports stay
  complete.
* Lists (categories, e-mails, topic codes, evidence …) are JSON text, not native JSON, so
  the same schema works unchanged on SQLite and PostgreSQL.
* Constraint and index names are explicit so that the Alembic migration matches exactly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlmodel import Field, SQLModel

from storage.coltypes import UTCDateTime


class Feed(SQLModel, table=True):
    __tablename__ = "feed"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    url: str = Field(sa_column=Column(Text, nullable=False))
    title: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    site_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    paused: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_fetch_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    error_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    next_fetch_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, sa_column=Column(Text))
    last_http_status: int | None = Field(default=None, sa_column=Column(Integer))
    # Scheduling state (feeds.fetch.policy), added by revision 3_fetch_scheduling.
    interval_seconds: int | None = Field(default=None, sa_column=Column(Integer))
    failure_score: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default="0")
    )
    health: str = Field(
        default="ok", sa_column=Column(String(16), nullable=False, server_default="ok")
    )
    body_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    redirect_url: str | None = Field(default=None, sa_column=Column(Text))
    redirect_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    full_text: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )

    __table_args__ = (
        UniqueConstraint("url", name="uq_feed_url"),
        Index("ix_feed_next_fetch_at", "next_fetch_at"),
    )


class Article(SQLModel, table=True):
    __tablename__ = "article"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    url: str | None = Field(default=None, sa_column=Column(Text))
    canonical_url: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(sa_column=Column(String(128), nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    published: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    author: str | None = Field(default=None, sa_column=Column(Text))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    content: str = Field(sa_column=Column(Text, nullable=False))
    categories: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, server_default="[]")
    )
    first_seen: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    analyzed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    story_id: int | None = Field(default=None, sa_column=Column(Integer))
    duplicate_of: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("article.id", name="fk_article_duplicate_of", ondelete="SET NULL"),
        ),
    )

    __table_args__ = (
        UniqueConstraint("canonical_url", name="uq_article_canonical_url"),
        UniqueConstraint("content_hash", name="uq_article_content_hash"),
        Index("ix_article_first_seen", "first_seen"),
        Index("ix_article_analyzed_at", "analyzed_at"),
        Index("ix_article_story_id", "story_id"),
        # The self-referencing foreign key is checked on every delete (migration 8).
        Index("ix_article_duplicate_of", "duplicate_of"),
    )


class Sighting(SQLModel, table=True):
    __tablename__ = "sighting"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    article_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("article.id", name="fk_sighting_article", ondelete="CASCADE"),
            nullable=False,
        )
    )
    feed_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("feed.id", name="fk_sighting_feed", ondelete="CASCADE"),
            nullable=False,
        )
    )
    entry_key: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    __table_args__ = (
        UniqueConstraint("feed_id", "entry_key", name="uq_sighting_feed_entry"),
        Index("ix_sighting_article_id", "article_id"),
        Index("ix_sighting_feed_article", "feed_id", "article_id"),
    )


class ArticleTopic(SQLModel, table=True):
    __tablename__ = "article_topic"

    article_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("article.id", name="fk_article_topic_article", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    code: str = Field(sa_column=Column(String(200), primary_key=True))
    label: str = Field(sa_column=Column(Text, nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    # The article's first_seen, copied here so that volume over time reads one index
    # (the dashboard's topic series) instead of joining every match back to its article.
    seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    __table_args__ = (
        Index("ix_article_topic_code_seen", "code", "seen_at"),
        Index("ix_article_topic_seen", "seen_at", "code"),
    )


class ArticleActor(SQLModel, table=True):
    __tablename__ = "article_actor"

    article_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("article.id", name="fk_article_actor_article", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    name: str = Field(sa_column=Column(String(300), primary_key=True))
    type: str = Field(sa_column=Column(String(32), nullable=False))
    sentiment: str = Field(sa_column=Column(String(16), nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    mentions: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    evidence: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    watched: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    # The article's first_seen (see ArticleTopic.seen_at). With the two covering indexes
    # an actor's sentiment series and the "who moved" ranking are index-only range scans.
    seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    __table_args__ = (
        Index("ix_article_actor_name_seen", "name", "seen_at", "sentiment", "score", "article_id"),
        Index("ix_article_actor_seen", "seen_at", "name", "sentiment", "score"),
    )


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    emails: str = Field(sa_column=Column(Text, nullable=False))
    schedule: str = Field(sa_column=Column(String(16), nullable=False))
    at: str = Field(sa_column=Column(String(5), nullable=False))
    tz: str = Field(sa_column=Column(String(64), nullable=False))
    weekday: int = Field(sa_column=Column(Integer, nullable=False, server_default="0"))
    topics: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    actors: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    paused: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    queries: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    sentiments: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, server_default="[]")
    )
    outlets: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    spike_alerts: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )

    __table_args__ = (UniqueConstraint("name", name="uq_subscription_name"),)


class DigestRun(SQLModel, table=True):
    __tablename__ = "digest_run"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    subscription_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("subscription.id", name="fk_digest_run_subscription", ondelete="CASCADE"),
            nullable=False,
        )
    )
    period_key: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    message_id: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    article_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    error: str | None = Field(default=None, sa_column=Column(Text))
    # The outbox: a sender leases the row, sends, then marks it (docs/DIGESTS.md).
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    period_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    period_end: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    delivered: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, server_default="[]")
    )

    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_digest_run_period"),
        Index("ix_digest_run_created_at", "created_at"),
    )


class UserTopic(SQLModel, table=True):
    """A named monitoring query. Its matches are ``article_topic`` rows coded ``user:NAME``.

    The text index the queries use (``article_search``) differs by database — an FTS5
    virtual table on SQLite, a ``tsvector`` table on PostgreSQL — so it is created by the
    migration and :mod:`storage.search`, not declared here.
    """

    __tablename__ = "user_topic"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(64), nullable=False))
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    __table_args__ = (UniqueConstraint("name", name="uq_user_topic_name"),)


class Tombstone(SQLModel, table=True):
    """The identity of an article removed by retention, so it is not stored again.

    ``kind`` is ``url`` (canonical URL), ``hash`` (content hash) or ``entry`` (``feed id``
    and entry key joined by a space); ``key`` is the value.
    """

    __tablename__ = "tombstone"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    removed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    __table_args__ = (UniqueConstraint("kind", "key", name="uq_tombstone_kind_key"),)


class FeedIdentity(SQLModel, table=True):
    """Per-feed identity policy: present only for feeds whose GUIDs proved unusable."""

    __tablename__ = "feed_identity"

    feed_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("feed.id", name="fk_feed_identity_feed", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    guids_broken: bool = Field(sa_column=Column(Boolean, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    decided_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ArticleBand(SQLModel, table=True):
    """MinHash LSH bands of article bodies: the near-duplicate candidate index."""

    __tablename__ = "article_band"

    band_key: int = Field(sa_column=Column(BigInteger, primary_key=True))
    article_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("article.id", name="fk_article_band_article", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    event_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    __table_args__ = (
        Index("ix_article_band_key_time", "band_key", "event_time"),
        Index("ix_article_band_article_id", "article_id"),
    )


class Story(SQLModel, table=True):
    """Articles about one real-world event; ``article.story_id`` points here."""

    __tablename__ = "story"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    first_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    size: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    signature: str = Field(sa_column=Column(Text, nullable=False))

    __table_args__ = (Index("ix_story_last_time", "last_time"),)


class StoryTerm(SQLModel, table=True):
    """The story-candidate index: a story's heaviest terms with its last event time."""

    __tablename__ = "story_term"

    term: str = Field(sa_column=Column(String(64), primary_key=True))
    story_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("story.id", name="fk_story_term_story", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    last_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    __table_args__ = (
        Index("ix_story_term_term_time", "term", "last_time"),
        Index("ix_story_term_story_id", "story_id"),
    )


class WatchedActor(SQLModel, table=True):
    """A user's watchlist entry (or a hidden seed actor); merged with the seed file."""

    __tablename__ = "watched_actor"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(300), nullable=False))
    name_key: str = Field(sa_column=Column(String(300), nullable=False))
    type: str = Field(sa_column=Column(String(32), nullable=False))
    aliases: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    hidden: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    __table_args__ = (UniqueConstraint("name_key", name="uq_watched_actor_name_key"),)


def table_of(model: type[SQLModel]) -> Table:
    """The Core ``Table`` behind a table model (typed, for the repository's queries)."""
    table = model.__table__  # type: ignore[attr-defined]
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


FEED = table_of(Feed)
ARTICLE = table_of(Article)
SIGHTING = table_of(Sighting)
ARTICLE_TOPIC = table_of(ArticleTopic)
ARTICLE_ACTOR = table_of(ArticleActor)
SUBSCRIPTION = table_of(Subscription)
DIGEST_RUN = table_of(DigestRun)
USER_TOPIC = table_of(UserTopic)
TOMBSTONE = table_of(Tombstone)
FEED_IDENTITY = table_of(FeedIdentity)
ARTICLE_BAND = table_of(ArticleBand)
STORY = table_of(Story)
STORY_TERM = table_of(StoryTerm)
WATCHED_ACTOR = table_of(WatchedActor)

metadata = SQLModel.metadata
