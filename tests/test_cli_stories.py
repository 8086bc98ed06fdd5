"""``newsmon stories list`` through Typer's runner, after a real poll over loopback HTTP."""

from __future__ import annotations

import json

from tests.cli_support import invoke
from tests.feedserver import pub_date, rss
from tests.test_neardup import OTHER_QUAKE, WIRE


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
