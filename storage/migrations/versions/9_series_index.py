"""Time on the analysis rows: ``seen_at`` on ``article_actor`` and ``article_topic``.

The web dashboard and API draw series over time (an actor's sentiment by day, a topic's
volume) and rank the actors that moved most. Read through ``article.first_seen`` each of
those joins every mention back to its article, which over a million articles is too slow
to answer while a page loads. So the analysis rows carry their article's ``first_seen``,
and covering indexes make the series index-only range scans:

* ``article_actor (name, seen_at, sentiment, score, article_id)`` replaces ``(name)``,
  its prefix (``article_id`` lets "named alongside" find the actor's articles from the
  index alone);
* ``article_actor (seen_at, name, sentiment, score)`` for all actors in a window;
* ``article_topic (code, seen_at)`` replaces ``(code)``; ``(seen_at, code)`` for totals;
* ``sighting (feed_id, article_id)``: a feed's article count without reading its rows.

Existing rows are filled from their articles. The column stays nullable; every write sets it.

Revision ID: 9_series_index
Revises: 8_duplicate_index
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "9_series_index"
down_revision: str | None = "8_duplicate_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("article_actor", "article_topic"):
        op.add_column(table, sa.Column("seen_at", UTCDateTime(), nullable=True))
        op.execute(
            f"UPDATE {table} SET seen_at = "
            f"(SELECT first_seen FROM article WHERE article.id = {table}.article_id)"
        )
    op.drop_index("ix_article_actor_name", table_name="article_actor")
    op.create_index(
        "ix_article_actor_name_seen",
        "article_actor",
        ["name", "seen_at", "sentiment", "score", "article_id"],
    )
    op.create_index(
        "ix_article_actor_seen", "article_actor", ["seen_at", "name", "sentiment", "score"]
    )
    op.drop_index("ix_article_topic_code", table_name="article_topic")
    op.create_index("ix_article_topic_code_seen", "article_topic", ["code", "seen_at"])
    op.create_index("ix_article_topic_seen", "article_topic", ["seen_at", "code"])
    op.create_index("ix_sighting_feed_article", "sighting", ["feed_id", "article_id"])


def downgrade() -> None:
    op.drop_index("ix_sighting_feed_article", table_name="sighting")
    op.drop_index("ix_article_topic_seen", table_name="article_topic")
    op.drop_index("ix_article_topic_code_seen", table_name="article_topic")
    op.create_index("ix_article_topic_code", "article_topic", ["code"])
    op.drop_index("ix_article_actor_seen", table_name="article_actor")
    op.drop_index("ix_article_actor_name_seen", table_name="article_actor")
    op.create_index("ix_article_actor_name", "article_actor", ["name"])
    with op.batch_alter_table("article_topic") as batch:
        batch.drop_column("seen_at")
    with op.batch_alter_table("article_actor") as batch:
        batch.drop_column("seen_at")
