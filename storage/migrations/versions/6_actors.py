"""Actors: the user's part of the watchlist, and a flag for discovered actors.

* ``watched_actor``: actors added with ``newsmon actors add`` (and seed actors hidden with
  ``newsmon actors remove``); ``name_key`` is the name case-folded, unique, so "nato" and
  "NATO" are one entry.
* ``article_actor.watched``: false for actors found by discovery, not on the watchlist.

Revision ID: 6_actors
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "6_actors"
down_revision: str | None = "4_stories"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watched_actor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_key", sa.String(300), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name_key", name="uq_watched_actor_name_key"),
    )
    with op.batch_alter_table("article_actor") as batch:
        batch.add_column(
            sa.Column("watched", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("article_actor") as batch:
        batch.drop_column("watched")
    op.drop_table("watched_actor")
