"""The CLI contract through Typer's runner, against real SQLite and loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from typer.main import get_command

from tests.cli_support import DemoRun, invoke
from tests.feedserver import pub_date, rss
from worker import bootstrap
from worker.cli import app


def _all_commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _all_commands(sub, (*path, name))


def test_every_command_has_help() -> None:
    paths = list(_all_commands(get_command(app)))
    assert ("feeds", "add") in paths and ("digest", "send") in paths and ("analyze",) in paths
    for path in paths:
        result = invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        command = get_command(app)
        for part in path:
            command = command.commands[part]  # type: ignore[attr-defined]
        assert command.help or command.short_help, f"{' '.join(path)} has no help text"


def test_feed_lifecycle_and_poll(env, server) -> None:
    url = server.state.put(
        "/news.xml",
        rss(
            "Outlet",
            [
                {
                    "title": "Russia condemned at UN",
                    "link": "https://o.example/1",
                    "guid": "1",
                    "description": "Russia was condemned.",
                    "pubDate": pub_date(0),
                }
            ],
        ),
    )
    broken = server.state.url("/gone.xml")
    assert "added feed 1" in invoke("feeds", "add", url, "--title", "Outlet").output
    refused = invoke("feeds", "add", broken)  # 404: not added unless asked to
    assert refused.exit_code == 1 and "--force" in refused.output, refused.output
    assert invoke("feeds", "list", "--json").output.count("\n") == 1
    assert invoke("feeds", "add", broken, "--force").exit_code == 0
    again = invoke("feeds", "add", url)
    assert again.exit_code == 1 and again.output.count("\n") == 1 and "already" in again.output

    result = invoke("poll", "--all")
    assert result.exit_code == 0, result.output  # a failing feed does not fail the pass
    assert "1 ok" in result.output and "1 failed" in result.output and "1 new" in result.output

    listing = invoke("feeds", "list", "--json")
    rows = [json.loads(line) for line in listing.output.splitlines()]
    assert [r["error_count"] for r in rows] == [0, 1] and "404" in rows[1]["last_error"]
    assert "failing" in invoke("feeds", "list").output
    assert "last_error" in invoke("feeds", "show", "2").output

    assert invoke("feeds", "pause", "2").exit_code == 0
    assert "0 failed" in invoke("poll", "--all").output
    assert invoke("feeds", "resume", "2").exit_code == 0

    exported = invoke("export")
    article = json.loads(exported.output.splitlines()[0])
    assert article["title"] == "Russia condemned at UN"
    assert [f["url"] for f in article["feeds"]] == [url]
    assert {"id", "url", "published", "topics", "actors", "story_id", "duplicate_of"} <= set(
        article
    )
    assert invoke("feeds", "remove", "2").exit_code == 0
    assert invoke("feeds", "show", "2").exit_code == 1


def test_opml_round_trip(env, tmp_path) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="World"><outline text="A" xmlUrl="https://a.example/rss"/>'
        '<outline text="B" xmlUrl="https://b.example/rss"/></outline></body></opml>'
    )
    assert "imported 2 feeds (0 already present)" in invoke("feeds", "import", str(opml)).output
    assert "imported 0 feeds (2 already present)" in invoke("feeds", "import", str(opml)).output
    out = tmp_path / "out.opml"
    invoke("feeds", "export", str(out))
    assert "https://a.example/rss" in out.read_text() and "https://b.example/rss" in out.read_text()


def test_bad_input_gives_one_line_and_nonzero_exit(env, tmp_path) -> None:
    bad_opml = tmp_path / "bad.opml"
    bad_opml.write_text("<opml><body><outline")
    cases = [
        (("feeds", "show", "42"), 1, "no feed with id 42"),
        (("poll", "42"), 1, "no feed with id 42"),
        (("feeds", "add", "ftp://x.example/feed"), 1, "not an http(s) URL"),
        (("feeds", "import", str(tmp_path / "nope.opml")), 1, "cannot read"),
        (("feeds", "import", str(bad_opml)), 1, "OPML"),
        (("export", "--since", "yesterday"), 1, "ISO date"),
        (("subscriptions", "add", "x", "--email", "a@b.example\r\nBcc: evil@x.example"), 1, ""),
        (
            ("subscriptions", "add", "x", "--email", "a@b.example", "--tz", "Mars/Base"),
            1,
            "time zone",
        ),
        (("subscriptions", "add", "x", "--email", "a@b.example", "--at", "25:99"), 1, ""),
        (("digest", "send", "nobody"), 1, "nobody"),
    ]
    for args, code, needle in cases:
        result = invoke(*args)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, (
            args,
            result.output,
        )
        assert needle in result.output
    usage = invoke("poll", "--frobnicate")
    assert usage.exit_code == 2 and "Traceback" not in usage.output


def test_dead_database_is_one_clear_line(env, monkeypatch) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    bootstrap.configure(None)
    result = invoke("feeds", "list")
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "127.0.0.1:1" in result.output


def test_bad_setting_is_one_clear_line(env, monkeypatch) -> None:
    monkeypatch.setenv("NEWSMON_FETCH_CONCURRENCY", "lots")
    bootstrap.configure(None)
    result = invoke("feeds", "list")
    assert result.exit_code == 1 and "NEWSMON_FETCH_CONCURRENCY" in result.output


def test_subscriptions_and_digest_preview(env, tmp_path) -> None:
    added = invoke(
        "subscriptions",
        "add",
        "ru",
        "--email",
        "Ann <ann@example.org>",
        "--email",
        "bob@example.org",
        "--schedule",
        "weekly",
        "--day",
        "friday",
        "--at",
        "17:30",
        "--tz",
        "Europe/London",
        "--actor",
        "Russia",
    )
    assert added.exit_code == 0, added.output
    assert invoke("subscriptions", "add", "ru", "--email", "c@example.org").exit_code == 1
    listing = invoke("subscriptions", "list").output
    assert "ru: weekly at 17:30 Europe/London" in listing and "actor=Russia" in listing
    out = tmp_path / "preview.html"
    preview = invoke("digest", "preview", "ru", "--output", str(out))
    assert preview.exit_code == 0, preview.output
    assert "<html" in out.read_text().lower()
    assert invoke("subscriptions", "remove", "ru").exit_code == 0
    assert "no subscriptions" in invoke("subscriptions", "list").output


def test_analyze_contract(env, tmp_path) -> None:
    text = "Russia's brutal invasion was condemned. Ukraine's defenders were praised."
    docs = tmp_path / "in.jsonl"
    docs.write_text(
        json.dumps(
            {
                "id": "a",
                "title": "War",
                "text": text,
                "targets": [{"from": 0, "to": 6}, {"from": 40, "to": 47}],
            }
        )
        + "\n"
        + json.dumps({"id": 7, "title": "Plain", "text": "Nothing to see."})
        + "\n"
    )
    result = invoke("analyze", "--input", str(docs))
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["id"] == "a" and second["id"] == 7 and "targets" not in second
    assert [(t["from"], t["to"]) for t in first["targets"]] == [(0, 6), (40, 47)]
    assert {t["sentiment"] for t in first["targets"]} <= {"negative", "neutral", "positive"}
    assert all(-1 <= t["score"] <= 1 for t in first["targets"])
    names = {a["name"]: a for a in first["actors"]}
    assert names["Russia"]["evidence"] and {"code", "label", "score"} <= set(first["topics"][0])

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{not json\n')
    failed = invoke("analyze", "--input", str(bad), "--output", str(tmp_path / "o.jsonl"))
    assert failed.exit_code == 1 and "line 2" in failed.output
    assert not (tmp_path / "o.jsonl").exists()  # nothing half-written


def test_export_to_file_is_atomic_and_since_filters(env, tmp_path, server) -> None:
    url = server.state.put(
        "/n.xml",
        rss("O", [{"title": "T", "link": "https://o.example/t", "guid": "t", "description": "d"}]),
    )
    invoke("feeds", "add", url)
    invoke("poll", "--all")
    out = tmp_path / "export.jsonl"
    assert "wrote 1 article to" in invoke("export", "--output", str(out)).output
    assert len(out.read_text().splitlines()) == 1
    invoke("export", "--since", "2999-01-01", "--output", str(out))
    assert out.read_text() == ""


def test_demo_runs_offline(demo_run: DemoRun) -> None:
    assert (demo_run.directory / "digest.html").is_file()
    lines = (demo_run.directory / "articles.jsonl").read_text().splitlines()
    exported = [json.loads(x) for x in lines]
    assert any(len(a["feeds"]) > 1 for a in exported)  # syndicated copies stored once
    assert "not modified" in demo_run.output


def test_demo_digest_lists_new_names_without_places_or_fragments(demo_run: DemoRun) -> None:
    text = (demo_run.directory / "digest.txt").read_text(encoding="utf-8").splitlines()
    listed = text[text.index("NEW NAMES (not on the watchlist)") + 1].split(", ")
    assert "General Assembly" in listed
    # the corpus names these places and fragments; none is an actor to watch
    for wrong in ("Assembly", "AI", "Donetsk", "Kharkiv", "Pokrovsk"):
        assert wrong not in listed, listed
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    assert not [name for name in listed if name.startswith(days)], listed
    html = (demo_run.directory / "digest.html").read_text(encoding="utf-8")
    assert f"(not on the watchlist)</span>: {', '.join(listed)}</p>" in html


def test_polling_a_paused_feed_by_id_polls_nothing(env) -> None:  # type: ignore[no-untyped-def]
    assert invoke("feeds", "add", "https://paused.example/rss", "--no-discover").exit_code == 0
    assert invoke("feeds", "pause", "1").exit_code == 0
    result = invoke("poll", "1")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("polled 0 feeds"), result.output
