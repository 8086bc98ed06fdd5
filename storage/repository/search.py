"""The full-text index behind user topics, on SQLite (FTS5) and PostgreSQL (tsvector).

The index holds each article's title and text as the *normalised* words of
:func:`feeds.query.words` (lower case, no diacritics, separated by spaces), so both
databases tokenise exactly what the in-memory matcher sees. It answers one question:
which articles contain these words (:class:`feeds.query.Need`, a condition looser than
the query); :mod:`feeds.user_topics` then runs the exact matcher on the candidates.

The index is filled lazily: :func:`refresh` indexes the articles that are not in it yet
(articles never change after they are stored), before every search. Two processes
refreshing at once are harmless: SQLite serialises writers, and PostgreSQL's insert
ignores a row another transaction added.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, column, text
from sqlalchemy.orm import Session

from feeds.query import Need, words
from feeds.user_topics import SearchDoc
from storage import convert
from storage.repository.base import article_text_select
from storage.tables import ARTICLE

BATCH = 500


def document_text(title: str, body: str) -> str:
    return " ".join(words(title) + words(body))


def refresh(session: Session) -> int:
    """Index every article not indexed yet; returns how many were added."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        missing = text(
            "SELECT a.id, a.title, a.content, a.summary FROM article a"
            " LEFT JOIN article_search s ON s.article_id = a.id"
            " WHERE s.article_id IS NULL ORDER BY a.id LIMIT :n"
        )
        insert = text(
            "INSERT INTO article_search (article_id, document)"
            " VALUES (:id, to_tsvector('simple', :body)) ON CONFLICT DO NOTHING"
        )
    else:
        missing = text(
            "SELECT a.id, a.title, a.content, a.summary FROM article a"
            " LEFT JOIN article_search s ON s.rowid = a.id"
            " WHERE s.rowid IS NULL ORDER BY a.id LIMIT :n"
        )
        insert = text("INSERT INTO article_search (rowid, body) VALUES (:id, :body)")
    added = 0
    while True:
        rows: list[Any] = list(session.execute(missing, {"n": BATCH}).mappings())
        if not rows:
            return added
        session.execute(
            insert,
            [
                {"id": r["id"], "body": document_text(r["title"], convert.article_text(r))}
                for r in rows
            ],
        )
        added += len(rows)


def candidates(
    session: Session, need: Need, since: datetime | None, newest: int | None = None
) -> list[SearchDoc]:
    """Articles first seen at or after ``since`` that hold the needed words, oldest first;
    only the ``newest`` of them when given (a bound on what one search may read)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = article_text_select(ARTICLE.c.author, ARTICLE.c.url, ARTICLE.c.first_seen)
    if newest is None:
        stmt = stmt.order_by(ARTICLE.c.first_seen, ARTICLE.c.id)
    else:
        stmt = stmt.order_by(ARTICLE.c.first_seen.desc(), ARTICLE.c.id.desc()).limit(newest)
    if need.kind != "nothing":
        if postgres:
            found = text(
                "SELECT article_id FROM article_search"
                " WHERE document @@ to_tsquery('simple', :match)"
            ).bindparams(match=_tsquery(need))
            stmt = stmt.where(ARTICLE.c.id.in_(found.columns(column("article_id", Integer))))
        else:
            found = text(
                "SELECT rowid FROM article_search WHERE article_search MATCH :match"
            ).bindparams(match=_fts5(need))
            stmt = stmt.where(ARTICLE.c.id.in_(found.columns(column("rowid", Integer))))
    if since is not None:
        stmt = stmt.where(ARTICLE.c.first_seen >= since)
    rows: list[Any] = list(session.execute(stmt).mappings())
    if newest is not None:
        rows.reverse()
    return [convert.search_doc(r) for r in rows]


def _fts5(need: Need) -> str:
    if need.kind == "word":
        return f'"{need.word}"' + ("*" if need.prefix else "")
    joiner = " AND " if need.kind == "all" else " OR "
    return "(" + joiner.join(_fts5(p) for p in need.parts) + ")"


def _tsquery(need: Need) -> str:
    if need.kind == "word":
        return f"'{need.word}'" + (":*" if need.prefix else "")
    joiner = " & " if need.kind == "all" else " | "
    return "(" + joiner.join(_tsquery(p) for p in need.parts) + ")"
