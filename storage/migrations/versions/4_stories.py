"""Near-duplicates and stories: band and term indexes, stories, per-feed identity policy.

Adds the tables behind ``article.story_id`` and ``article.duplicate_of`` (which the
initial schema already has): ``story``, its term index ``story_term``, the MinHash band
index ``article_band``, and ``feed_identity`` for feeds whose GUIDs are unusable.

Revision ID: 4_stories
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "4_stories"
down_revision: str | None = "3_fetch_scheduling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_identity",
        sa.Column(
            "feed_id",
            sa.Integer(),
            sa.ForeignKey("feed.id", name="fk_feed_identity_feed", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("guids_broken", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
    )

    op.create_table(
        "article_band",
        sa.Column("band_key", sa.BigInteger(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("article.id", name="fk_article_band_article", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("event_time", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_article_band_key_time", "article_band", ["band_key", "event_time"])
    op.create_index("ix_article_band_article_id", "article_band", ["article_id"])

    op.create_table(
        "story",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("first_time", UTCDateTime(), nullable=False),
        sa.Column("last_time", UTCDateTime(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("signature", sa.Text(), nullable=False),
    )
    op.create_index("ix_story_last_time", "story", ["last_time"])

    op.create_table(
        "story_term",
        sa.Column("term", sa.String(64), primary_key=True),
        sa.Column(
            "story_id",
            sa.Integer(),
            sa.ForeignKey("story.id", name="fk_story_term_story", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("last_time", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_story_term_term_time", "story_term", ["term", "last_time"])
    op.create_index("ix_story_term_story_id", "story_term", ["story_id"])

    # Stories are looked up by story id for listings and digests.
    op.create_index("ix_article_story_id", "article", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_article_story_id", table_name="article")
    op.drop_index("ix_story_term_story_id", table_name="story_term")
    op.drop_index("ix_story_term_term_time", table_name="story_term")
    op.drop_table("story_term")
    op.drop_index("ix_story_last_time", table_name="story")
    op.drop_table("story")
    op.drop_index("ix_article_band_article_id", table_name="article_band")
    op.drop_index("ix_article_band_key_time", table_name="article_band")
    op.drop_table("article_band")
    op.drop_table("feed_identity")
