"""``newsmon topics``: add, list, test, apply, remove, and user topics in the pipeline."""

from __future__ import annotations

import json

from tests.cli_support import invoke
from tests.feedserver import pub_date, rss


def _feed(feeds) -> str:  # type: ignore[no-untyped-def]
    return feeds.state.put(
        "/news.xml",
        rss(
            "Outlet",
            [
                {
                    "title": "EU widens sanctions against Russia",
                    "link": "https://o.example/1",
                    "guid": "1",
                    "description": "New sanctions target Russian banks.",
                    "pubDate": pub_date(0),
                },
                {
                    "title": "Cup final tonight",
                    "link": "https://o.example/2",
                    "guid": "2",
                    "description": "The striker is fit to play.",
                    "pubDate": pub_date(0),
                },
            ],
        ),
    )


def test_topics_commands_and_pipeline_tagging(env, server) -> None:
    assert invoke("feeds", "add", _feed(server)).exit_code == 0
    assert "2 new" in invoke("poll", "--all").output
    # added after the first poll: stored articles are tagged by `apply`, new ones on arrival
    added = invoke("topics", "add", "sanctions", "sanction* AND (russia OR russian)")
    assert added.exit_code == 0, added.output
    assert "user:sanctions" in invoke("topics", "list").output

    tested = invoke("topics", "test", "sanction* NOT football")
    assert tested.exit_code == 0, tested.output
    assert "EU widens sanctions against Russia" in tested.output
    assert "Cup final" not in tested.output and "1 article matches" in tested.output

    applied = invoke("topics", "apply", "sanctions", "--since", "2000-01-01")
    assert applied.exit_code == 0
    since = "first seen since 2000-01-01"
    assert applied.output == f"user:sanctions: 1 stored article {since} matches\n"
    exported = [json.loads(line) for line in invoke("export").output.splitlines()]
    by_title = {a["title"]: a for a in exported}
    tagged = by_title["EU widens sanctions against Russia"]["topics"]
    assert {"code": "user:sanctions", "label": "sanctions", "score": 1.0} in tagged
    assert any(t["code"].startswith("medtop:") for t in tagged)  # IPTC topics stay
    assert not any(t["code"].startswith("user:") for t in by_title["Cup final tonight"]["topics"])

    assert invoke("topics", "remove", "sanctions").exit_code == 0
    exported = [json.loads(line) for line in invoke("export").output.splitlines()]
    assert not any(t["code"].startswith("user:") for a in exported for t in a["topics"])


def test_new_articles_get_user_topics_in_the_pipeline(env, server) -> None:
    assert invoke("topics", "add", "cup", 'title:"cup final"').exit_code == 0
    invoke("feeds", "add", _feed(server))
    assert invoke("poll", "--all").exit_code == 0
    exported = [json.loads(line) for line in invoke("export").output.splitlines()]
    codes = {a["title"]: [t["code"] for t in a["topics"]] for a in exported}
    assert "user:cup" in codes["Cup final tonight"]
    assert "user:cup" not in codes["EU widens sanctions against Russia"]


def test_bad_queries_and_names_are_one_line(env) -> None:  # noqa: F811
    bad = invoke("topics", "add", "x", "(russia OR")
    assert bad.exit_code == 1 and bad.output.count("\n") == 1
    assert "column 11" in bad.output and "missing at the end" in bad.output
    bad_name = invoke("topics", "add", "no spaces", "russia")
    assert bad_name.exit_code == 1 and "topic name" in bad_name.output
    assert invoke("topics", "add", "x", "russia").exit_code == 0
    again = invoke("topics", "add", "x", "russia")
    assert again.exit_code == 1 and "already exists" in again.output
    missing = invoke("topics", "apply", "nope")
    assert missing.exit_code == 1 and "no topic named" in missing.output
    assert invoke("topics", "test", "x", "--since", "yesterday").exit_code == 1
