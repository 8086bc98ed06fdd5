"""The initial schema: feeds, articles and their sightings, analysis, subscriptions, digests.

Written out in full (not generated at run time) so that the schema a database gets is fixed
by this file, whatever the table classes say later; a test compares the two.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("site_url", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_fetch_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_fetch_at", UTCDateTime(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.UniqueConstraint("url", name="uq_feed_url"),
    )
    op.create_index("ix_feed_next_fetch_at", "feed", ["next_fetch_at"])

    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published", UTCDateTime(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("analyzed_at", UTCDateTime(), nullable=True),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column(
            "duplicate_of",
            sa.Integer(),
            sa.ForeignKey("article.id", name="fk_article_duplicate_of", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.UniqueConstraint("canonical_url", name="uq_article_canonical_url"),
        sa.UniqueConstraint("content_hash", name="uq_article_content_hash"),
    )
    op.create_index("ix_article_first_seen", "article", ["first_seen"])
    op.create_index("ix_article_analyzed_at", "article", ["analyzed_at"])

    op.create_table(
        "sighting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("article.id", name="fk_sighting_article", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "feed_id",
            sa.Integer(),
            sa.ForeignKey("feed.id", name="fk_sighting_feed", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("entry_key", sa.Text(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("feed_id", "entry_key", name="uq_sighting_feed_entry"),
    )
    op.create_index("ix_sighting_article_id", "sighting", ["article_id"])

    op.create_table(
        "article_topic",
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("article.id", name="fk_article_topic_article", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code", sa.String(200), primary_key=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
    )
    op.create_index("ix_article_topic_code", "article_topic", ["code"])

    op.create_table(
        "article_actor",
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("article.id", name="fk_article_actor_article", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("evidence", sa.Text(), nullable=False, server_default="[]"),
    )
    op.create_index("ix_article_actor_name", "article_actor", ["name"])

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("emails", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(16), nullable=False),
        sa.Column("at", sa.String(5), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("topics", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("actors", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_subscription_name"),
    )

    op.create_table(
        "digest_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey("subscription.id", name="fk_digest_run_subscription", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("article_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("subscription_id", "period_key", name="uq_digest_run_period"),
    )


def downgrade() -> None:
    # Children before parents, so foreign keys never point at a dropped table.
    op.drop_table("digest_run")
    op.drop_table("subscription")
    op.drop_table("article_actor")
    op.drop_table("article_topic")
    op.drop_table("sighting")
    op.drop_index("ix_article_analyzed_at", table_name="article")
    op.drop_index("ix_article_first_seen", table_name="article")
    op.drop_table("article")
    op.drop_index("ix_feed_next_fetch_at", table_name="feed")
    op.drop_table("feed")
