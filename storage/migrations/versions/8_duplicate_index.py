"""An index on ``article.duplicate_of``.

The column is a foreign key onto ``article`` itself (``ON DELETE SET NULL``). Without an
index, deleting one article (``newsmon prune``, retention) makes SQLite scan the whole
article table for rows pointing at it: at a million stored articles a prune of old news
effectively stalled. PostgreSQL benefits the same way for the same check.

Revision ID: 8_duplicate_index
Revises: 6_actors
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "8_duplicate_index"
down_revision: str | None = "6_actors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_article_duplicate_of", "article", ["duplicate_of"])


def downgrade() -> None:
    op.drop_index("ix_article_duplicate_of", table_name="article")
