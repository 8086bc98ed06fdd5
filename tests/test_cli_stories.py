"""``newsmon stories list`` through Typer's runner, after a real poll over loopback HTTP;
``newsmon stories show`` on a story written to SQLite and PostgreSQL directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.repository import SqlStore
from tests.cli_support import invoke
from tests.feedserver import pub_date, rss
from tests.test_neardup import OTHER_QUAKE, WIRE
from tests.test_stories_storage import add_story_with_actors
from worker import bootstrap

# The keys of `stories list --json`: a public contract, fields are only ever added.
LIST_KEYS = ["id", "title", "articles", "outlets", "first", "last"]


def _item(key: str, title: str, text: str) -> dict[str, str]:
    return {
        "title": title,
        "link": f"https://{key}.example/story",
        "guid": key,
        "description": text,
        "pubDate": pub_date(0.1),
    }


def test_stories_list_shows_the_largest_story_first(env, server) -> None:
    assert "no stories yet" in invoke("stories", "list").output
    a = server.state.put(
        "/a.xml",
        rss(
            "A",
            [
                _item("a1", "Quake kills twelve in Ardmore", WIRE),
                _item("a2", "Belmora", OTHER_QUAKE),
            ],
        ),
    )
    b = server.state.put("/b.xml", rss("B", [_item("b1", "Ardmore quake", "ARDMORE - " + WIRE)]))
    for url in (a, b):
        assert invoke("feeds", "add", url).exit_code == 0
    assert invoke("poll", "--all").exit_code == 0

    listing = invoke("stories", "list")
    assert listing.exit_code == 0, listing.output
    lines = [line for line in listing.output.splitlines() if line.strip()]
    assert "Quake kills twelve in Ardmore" in lines[1] and lines[1].split()[1:3] == ["2", "2"]

    rows = [json.loads(line) for line in invoke("stories", "list", "--json").output.splitlines()]
    assert [(r["articles"], r["outlets"]) for r in rows] == [(2, 2), (1, 1)]
    assert all(list(r)[: len(LIST_KEYS)] == LIST_KEYS for r in rows)
    assert len(invoke("stories", "list", "--json", "--limit", "1").output.splitlines()) == 1
    assert invoke("stories", "list", "--since", "2999-01-01").output.startswith("no stories")

    bad = invoke("stories", "list", "--since", "yesterday")
    assert bad.exit_code == 1 and bad.output.strip().startswith("error: --since")
    assert invoke("stories", "list", "--limit", "0").exit_code == 2


def test_export_carries_story_and_duplicate(env, server) -> None:
    a = server.state.put("/a.xml", rss("A", [_item("a1", "Quake in Ardmore", WIRE)]))
    b = server.state.put("/b.xml", rss("B", [_item("b1", "Ardmore", "ARDMORE - " + WIRE)]))
    for url in (a, b):
        invoke("feeds", "add", url)
    invoke("poll", "--all")
    rows = [json.loads(line) for line in invoke("export").output.splitlines()]
    assert len(rows) == 2 and rows[0]["story_id"] == rows[1]["story_id"] is not None
    assert sorted(r["duplicate_of"] or 0 for r in rows)[1] in {r["id"] for r in rows}


@pytest.fixture
def cli_store(store: SqlStore, no_db_env: Path, monkeypatch: pytest.MonkeyPatch) -> SqlStore:
    """The CLI pointed at the test's store, on SQLite and on PostgreSQL."""
    monkeypatch.setenv(
        "NEWSMON_DATABASE_URL", store.engine.url.render_as_string(hide_password=False)
    )
    bootstrap.configure(None)
    return store


def test_stories_show_text(cli_store: SqlStore) -> None:
    story_id, ids = add_story_with_actors(cli_store)
    result = invoke("stories", "show", str(story_id))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        f"story {story_id}: Quake kills twelve in Ardmore",
        "  first seen  2026-03-02 06:00",
        "  last seen   2026-03-03 02:00",
        "  size        3 articles, 2 outlets",
    ]
    at = lines.index("outlets")
    assert lines[at + 1 : at + 3] == [
        "  Ardmore Gazette  2 articles",
        "  outlet2.example  1 article",
    ]
    at = lines.index("timeline")
    assert lines[at + 1 : at + 4] == [
        "  2026-03-02 06:00  Ardmore Gazette  Quake kills twelve in Ardmore",
        f"  2026-03-02 07:00  outlet2.example  Ardmore earthquake: schools destroyed"
        f"  (copy of {ids[0]})",
        "  2026-03-03 02:00  Ardmore Gazette  Ardmore death toll rises",
    ]
    at = lines.index("actors")
    assert lines[at + 1 :] == [
        "  Maren Olsted  in 2 articles, mean -0.20, 1 negative, 1 positive",
        "  Kessel        in 1 article, mean -0.40, 1 negative, 0 positive",
    ]
    # The other quake's article is another story: nothing of it shows here.
    assert "Belmora" not in result.output and "Lisk" not in result.output


def test_stories_show_json(cli_store: SqlStore) -> None:
    story_id, ids = add_story_with_actors(cli_store)
    result = invoke("stories", "show", str(story_id), "--json")
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1
    shown = json.loads(result.output)
    (listed,) = [
        json.loads(line)
        for line in invoke("stories", "list", "--json").output.splitlines()
        if json.loads(line)["id"] == story_id
    ]
    # The list's object, unchanged, then what only `show` adds.
    assert list(listed) == LIST_KEYS
    assert {k: shown[k] for k in LIST_KEYS} == listed
    assert listed == {
        "id": story_id,
        "title": "Quake kills twelve in Ardmore",
        "articles": 3,
        "outlets": 2,
        "first": "2026-03-02T06:00:00Z",
        "last": "2026-03-03T02:00:00Z",
    }
    assert list(shown) == [*LIST_KEYS, "by_outlet", "timeline", "actors"]
    assert [(o["name"], o["url"], o["articles"]) for o in shown["by_outlet"]] == [
        ("Ardmore Gazette", "https://outlet1.example/feed", 2),
        ("outlet2.example", "https://outlet2.example/feed", 1),
    ]
    assert shown["timeline"] == [
        {
            "id": ids[0],
            "time": "2026-03-02T06:00:00Z",
            "outlets": ["Ardmore Gazette"],
            "title": "Quake kills twelve in Ardmore",
            "url": "https://outlet1.example/1",
            "duplicate_of": None,
        },
        {
            "id": ids[1],
            "time": "2026-03-02T07:00:00Z",
            "outlets": ["outlet2.example"],
            "title": "Ardmore earthquake: schools destroyed",
            "url": "https://outlet2.example/2",
            "duplicate_of": ids[0],
        },
        {
            "id": ids[2],
            "time": "2026-03-03T02:00:00Z",
            "outlets": ["Ardmore Gazette"],
            "title": "Ardmore death toll rises",
            "url": "https://outlet1.example/3",
            "duplicate_of": None,
        },
    ]
    assert shown["actors"] == [
        {
            "name": "Maren Olsted",
            "type": "person",
            "mentions": 2,
            "mean_sentiment": -0.2,
            "negative": 1,
            "neutral": 0,
            "positive": 1,
        },
        {
            "name": "Kessel",
            "type": "other",
            "mentions": 1,
            "mean_sentiment": -0.4,
            "negative": 1,
            "neutral": 0,
            "positive": 0,
        },
    ]


def test_stories_show_unknown_id(cli_store: SqlStore) -> None:
    story_id, _ = add_story_with_actors(cli_store)
    missing = invoke("stories", "show", str(story_id + 100))
    assert missing.exit_code == 1
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [
        f"error: no story with id {story_id + 100} (see `newsmon stories list`)"
    ]
    assert invoke("stories", "show", "nope").exit_code == 2
