"""Fetch scheduling state on the feed row, and tombstones of pruned articles.

Revision ID: 3_fetch_scheduling
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "3_fetch_scheduling"
down_revision: str | None = "5_user_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feed", sa.Column("interval_seconds", sa.Integer(), nullable=True))
    op.add_column(
        "feed", sa.Column("failure_score", sa.Float(), nullable=False, server_default="0")
    )
    op.add_column("feed", sa.Column("health", sa.String(16), nullable=False, server_default="ok"))
    op.add_column("feed", sa.Column("body_hash", sa.String(64), nullable=True))
    op.add_column("feed", sa.Column("redirect_url", sa.Text(), nullable=True))
    op.add_column(
        "feed", sa.Column("redirect_count", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "feed",
        sa.Column("full_text", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "tombstone",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_tombstone_kind_key"),
    )


def downgrade() -> None:
    op.drop_table("tombstone")
    with op.batch_alter_table("feed") as batch:
        for column in (
            "full_text",
            "redirect_count",
            "redirect_url",
            "body_hash",
            "health",
            "failure_score",
            "interval_seconds",
        ):
            batch.drop_column(column)
