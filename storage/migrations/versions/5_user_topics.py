"""User topics (named monitoring queries) and the full-text index they search.

``article_search`` holds each article's title and text as normalised words (lower case,
no diacritics; see :func:`feeds.query.words`), filled by :mod:`storage.search`:

* SQLite: an FTS5 virtual table, ``rowid`` = article id;
* PostgreSQL: ``(article_id, document tsvector)`` with a GIN index.

Revision ID: 5_user_topics
Revises: 0001_initial
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "5_user_topics"
down_revision: str | None = "7_digests_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_topic",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_user_topic_name"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE article_search ("
            " article_id INTEGER PRIMARY KEY"
            "  REFERENCES article (id) ON DELETE CASCADE,"
            " document TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_article_search_document ON article_search USING gin (document)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS article_search")
    op.drop_table("user_topic")
