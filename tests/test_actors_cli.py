"""``newsmon actors`` and the user's watchlist: CLI on SQLite, repository on both databases,
and the merged list reaching the analyzer of a freshly built container."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.errors import NotFound
from feeds.formats.export import article_json
from feeds.models import ActorSentiment, AnalysisResult, Document, WatchedActor
from storage.repository import SqlStore
from tests.cli_support import invoke
from tests.test_storage import add_feeds, article
from worker import bootstrap

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def listed() -> dict[str, dict[str, object]]:
    result = invoke("actors", "list", "--json")
    assert result.exit_code == 0, result.output
    return {o["name"]: o for o in map(json.loads, result.output.splitlines())}


def test_add_list_remove_round_trip(env: Path) -> None:
    before = listed()
    assert before["Russia"]["source"] == "seed" and "Keir Starmer" not in before

    result = invoke("actors", "add", "Keir Starmer", "--type", "person", "--alias", "Starmer")
    assert result.exit_code == 0 and "added actor Keir Starmer (person)" in result.output
    after = listed()
    assert after["Keir Starmer"] == {
        "name": "Keir Starmer",
        "type": "person",
        "aliases": ["Starmer"],
        "source": "user",
    }

    result = invoke("actors", "remove", "keir starmer")
    assert result.exit_code == 0 and "removed actor Keir Starmer" in result.output
    assert listed() == before


def test_a_user_entry_replaces_and_a_removal_hides_a_seed_actor(env: Path) -> None:
    result = invoke("actors", "add", "NATO", "--type", "organisation", "--alias", "the Alliance")
    assert result.exit_code == 0 and "replaces the seed entry" in result.output
    assert listed()["NATO"]["aliases"] == ["the Alliance"]
    assert listed()["NATO"]["source"] == "user, replaces seed"

    assert invoke("actors", "remove", "NATO").exit_code == 0  # back to the seed entry
    assert listed()["NATO"]["source"] == "seed"

    result = invoke("actors", "remove", "Russia")
    assert result.exit_code == 0 and "removed seed actor Russia" in result.output
    assert "Russia" not in listed()
    text = invoke("actors", "list").output
    assert "removed seed actors: Russia" in text

    # removing it twice is an error; adding it back restores it
    again = invoke("actors", "remove", "Russia")
    assert again.exit_code == 1 and "no actor named 'Russia'" in again.output
    assert invoke("actors", "add", "Russia", "--type", "country").exit_code == 0
    assert listed()["Russia"]["source"] == "user, replaces seed"


def test_bad_input_is_one_line_and_changes_nothing(env: Path) -> None:
    before = listed()
    for args, message in [
        (("add", "X", "--type", "planet"), "--type 'planet'"),
        (("add", "   ", "--type", "person"), "non-empty name"),
        (("remove", "Nobody"), "no actor named 'Nobody'"),
    ]:
        result = invoke("actors", *args)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [f"error: {result.output.strip()[7:]}"]
        assert message in result.output and "Traceback" not in result.output
    assert invoke("actors", "add", "A", "--type", "other", "--alias", "Zed").exit_code == 0
    clash = invoke("actors", "add", "B", "--type", "other", "--alias", "zed")
    assert clash.exit_code == 1 and "belongs to both" in clash.output
    assert set(listed()) == set(before) | {"A"}
    missing_type = invoke("actors", "add", "C")
    assert missing_type.exit_code == 2  # a usage error


def test_a_new_container_analyses_with_the_user_actors(env: Path) -> None:
    assert invoke("actors", "add", "Ann Lee", "--type", "person", "--alias", "Lee").exit_code == 0
    assert invoke("actors", "remove", "Ukraine").exit_code == 0
    bootstrap.configure(None)
    analyzer = bootstrap.container().pipeline.analyzer
    result = analyzer.analyze(
        Document("1", "", "Ann Lee praised Ukraine. Lee met Russia's envoy in Kyiv.")
    )
    watched = {a.name for a in result.actors if a.watched}
    assert watched == {"Ann Lee", "Russia"}
    assert next(a for a in result.actors if a.name == "Ann Lee").mentions == 2


def test_repository_watched_actors(store: SqlStore) -> None:
    with store.transaction() as repo:
        repo.save_watched_actor(WatchedActor("Ann Lee", "person", ("Lee",)), NOW)
        repo.save_watched_actor(WatchedActor("Russia", "country", hidden=True), NOW)
        repo.save_watched_actor(WatchedActor("ann lee", "person", ("A. Lee", "Lee")), NOW)
    with store.transaction() as repo:
        entries = repo.list_watched_actors()
    assert [(e.name, e.aliases, e.hidden) for e in entries] == [
        ("ann lee", ("A. Lee", "Lee"), False),
        ("Russia", (), True),
    ]
    assert entries[0].created_at == NOW
    with store.transaction() as repo:
        repo.delete_watched_actor("ANN LEE")
    with pytest.raises(NotFound), store.transaction() as repo:
        repo.delete_watched_actor("Ann Lee")
    with store.transaction() as repo:
        assert [e.name for e in repo.list_watched_actors()] == ["Russia"]


def test_discovered_actors_keep_their_flag_in_storage_and_export(store: SqlStore) -> None:
    (feed_id,) = add_feeds(store, "https://a.example/")
    result = AnalysisResult(
        actors=(
            ActorSentiment("Russia", "country", "negative", -0.5, ("Russia failed.",), 2),
            ActorSentiment("Ann Lee", "person", "neutral", 0.0, ("Ann Lee spoke.",), 1, False),
        )
    )
    with store.transaction() as repo:
        article_id = repo.add_article(article(feed_id, "k1")).id
        repo.save_analysis(article_id, result, NOW)
    with store.transaction() as repo:
        (stored,) = list(repo.iter_articles())
    assert stored.actors == result.actors
    exported = article_json(stored)["actors"]
    assert [(a["name"], a["watched"]) for a in exported] == [("Russia", True), ("Ann Lee", False)]
