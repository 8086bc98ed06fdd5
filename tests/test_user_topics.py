"""User topics on real databases: the text index agrees with the in-pipeline matcher.

``topics test`` / ``topics apply`` ask the database's full-text index (FTS5 on SQLite,
tsvector on PostgreSQL) for candidates and run the exact matcher on them; the pipeline
runs the matcher alone on each new article. The property test generates articles and
queries and checks that both ways give the same articles, on both databases.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from feeds import user_topics
from feeds.analysis import ArticleAnalyzer, parse_topic_rules, parse_watchlist
from feeds.analysis.composite import TopicsAnalyzer
from feeds.errors import AlreadyExists, NotFound
from feeds.models import Document, NewArticle
from feeds.query import NOTHING, Node, to_text
from feeds.user_topics import UserTopic
from storage.repository import SqlStore
from tests.test_query import queries
from worker.settings import REPO_ROOT
from worker.topics import iptc_classifier

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

VOCABULARY = [
    "Russia",
    "russia",
    "RUSSIA",
    "sanction",
    "sanctions",
    "Sanctioned",
    "bank",
    "banks",
    "Zürich",
    "zurich",
    "CEO",
    "ceo",
    "and",
    "or",
    "2026",
    "e-mail",
    "U.S.",
    "naïve",
]


def _analyzer(topics: list[UserTopic]) -> TopicsAnalyzer:
    seeds = REPO_ROOT / "seeds"
    base = ArticleAnalyzer(
        parse_watchlist((seeds / "actors.toml").read_text(encoding="utf-8")),
        parse_topic_rules((seeds / "topics.toml").read_text(encoding="utf-8")),
    )
    return TopicsAnalyzer(base, iptc_classifier(), lambda: topics)


def _article(
    feed_id: int, n: int, title: str, body: str, author: str | None, url: str, seen: datetime
) -> NewArticle:
    digest = hashlib.sha256(f"{n}|{title}|{body}".encode()).hexdigest()
    return NewArticle(
        feed_id=feed_id,
        entry_key=f"e{n}",
        url=url,
        canonical_url=f"{url}#{n}",
        content_hash=digest,
        title=title,
        published=None,
        author=author,
        summary=body[:40],
        content=body,
        categories=(),
        seen_at=seen,
    )


def _clear(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM article_search"))
        conn.execute(text("DELETE FROM article_topic"))
        conn.execute(text("DELETE FROM sighting"))
        conn.execute(text("DELETE FROM article"))
        conn.execute(text("DELETE FROM feed"))
        conn.execute(text("DELETE FROM user_topic"))


phrases = st.lists(st.sampled_from(VOCABULARY), max_size=8).map(" ".join)
articles = st.lists(
    st.tuples(
        phrases,
        phrases,
        st.sampled_from([None, "Jo Smith", "Ann Ceo"]),
        st.sampled_from(["https://example.org/a", "https://news.example.org/b", "https://b.test/"]),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=articles, node=queries)
def test_index_search_agrees_with_the_pipeline_matcher(
    store: SqlStore, docs: list[tuple[str, str, str | None, str]], node: Node
) -> None:
    _clear(store)
    try:
        with store.transaction() as repo:
            feed = repo.add_feed("https://feed.example/rss", None, T0)
            for n, (title, body, author, url) in enumerate(docs):
                repo.add_article(_article(feed.id, n, title, body, author, url, T0))
        with store.transaction() as repo:
            found = {hit.doc.id for hit in user_topics.search(repo, node, None)}
            stored = repo.search_candidates(NOTHING, None)
        topic = UserTopic("t", to_text(node), T0)
        analyzer = _analyzer([topic])
        expected = {
            doc.id
            for doc in stored
            if analyzer.user_topics(Document(str(doc.id), doc.title, doc.text, doc.author, doc.url))
        }
        assert found == expected
    finally:
        _clear(store)


def test_topics_lifecycle_apply_and_since(store: SqlStore) -> None:
    with store.transaction() as repo:
        feed = repo.add_feed("https://feed.example/rss", None, T0)
        old = repo.add_article(
            _article(
                feed.id, 1, "Sanctions on Russia", "Banks hit.", None, "https://example.org/1", T0
            )
        )
        new = repo.add_article(
            _article(
                feed.id,
                2,
                "New sanctions",
                "More on Russia's banks.",
                None,
                "https://example.org/2",
                T0 + timedelta(days=2),
            )
        )
        repo.add_article(_article(feed.id, 3, "Weather", "Sunny.", None, "https://b.test/3", T0))
        topic = repo.add_user_topic("russia-sanctions", "sanction* AND russia", T0)
        with pytest.raises(AlreadyExists):
            repo.add_user_topic("russia-sanctions", "x", T0)
    with store.transaction() as repo:
        hits = user_topics.apply(repo, topic, None)
        assert [h.doc.id for h in hits] == [old.id, new.id]
        assert hits[0].highlights == ("sanctions", "russia")
    with store.transaction() as repo:
        tagged = {a.id for a in repo.iter_articles() if any(t.code == topic.code for t in a.topics)}
        assert tagged == {old.id, new.id}
        # a re-apply since a date only touches that window; older matches stay
        user_topics.apply(repo, UserTopic(topic.name, "weather", T0), T0 + timedelta(days=1))
    with store.transaction() as repo:
        tagged = {a.id for a in repo.iter_articles() if any(t.code == topic.code for t in a.topics)}
        assert tagged == {old.id}
        assert repo.refresh_search_index() == 0  # everything indexed already
        repo.remove_user_topic(topic.name)
        assert repo.list_user_topics() == []
        assert not any(t.code == topic.code for a in repo.iter_articles() for t in a.topics)
        with pytest.raises(NotFound):
            repo.get_user_topic(topic.name)
