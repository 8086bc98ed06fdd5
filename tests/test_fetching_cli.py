"""The fetching commands through the CLI: discovery, full text, status, prune, health."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.hostile_server import HostileServer, rss_items
from worker import bootstrap
from worker.cli import app
from worker.settings import REPO_ROOT

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("NEWSMON_HOST_MIN_SPACING", "0")
    monkeypatch.setenv("NEWSMON_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens
    monkeypatch.setenv("NEWSMON_SEEDS_DIR", str(REPO_ROOT / "seeds"))
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    bootstrap.configure(None)
    yield tmp_path
    bootstrap.configure(None)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    running = HostileServer("127.0.0.9")
    yield running
    running.close()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def feeds_json() -> list[dict[str, object]]:
    return [json.loads(line) for line in invoke("feeds", "list", "--json").output.splitlines()]


def test_discovery_by_link_then_common_path(env, server) -> None:  # type: ignore[no-untyped-def]
    state = server.state
    state.documents["/news/rss.xml"] = rss_items("linked", 2)
    state.pages["/site"] = (
        b'<html><head><link rel="alternate" type="application/rss+xml" href="news/rss.xml">'
        b"</head><body>hi</body></html>"
    )
    found = invoke("feeds", "add", server.url("/site"))
    assert found.exit_code == 0, found.output
    assert f'found feed {server.url("/news/rss.xml")} via <link rel="alternate">' in found.output

    state.pages["/blog/"] = b"<html><body>no links</body></html>"
    state.documents["/feed"] = rss_items("common", 2)
    common = invoke("feeds", "add", server.url("/blog/"))
    assert common.exit_code == 0, common.output
    assert f"found feed {server.url('/feed')} via the common path /feed" in common.output

    direct = invoke("feeds", "add", server.url("/ok"))
    assert direct.output == f"added feed 3: {server.url('/ok')}\n"


def test_discovery_failure_is_one_line(env, server) -> None:  # type: ignore[no-untyped-def]
    result = invoke("feeds", "add", server.url("/html"))  # a page, and no /feed etc. either
    assert result.exit_code == 1
    assert result.output.startswith("error: no feed found at") and result.output.count("\n") == 1
    unreachable = invoke("feeds", "add", server.url("/missing"), "--no-discover")
    assert unreachable.exit_code == 0  # --no-discover stores the URL as given


def test_full_text_switch_and_article_pages(env, server) -> None:  # type: ignore[no-untyped-def]
    state = server.state
    body = "".join(
        f"<p>Paragraph {i}: the harbour council debated the budget for the new ferry line.</p>"
        for i in range(10)
    )
    for n in range(2):
        state.pages[f"/a/{n}"] = (
            f"<html><body><nav>menu</nav><article><h1>Story {n}</h1>{body}</article></body></html>"
        ).encode()
    state.documents["/summaries.xml"] = rss_items(
        "short", 2, summary="Council meets.", base=server.base + "/a"
    ).replace(b"/a/short/", b"/a/")
    added = invoke("feeds", "add", server.url("/summaries.xml"), "--full-text")
    assert added.exit_code == 0, added.output
    assert feeds_json()[0]["full_text"] is True
    assert invoke("poll", "--all").exit_code == 0
    assert len(invoke("export").output.splitlines()) == 2
    # Each article page was fetched once, by the same fetcher and host limits as feeds.
    assert len(state.requests_to("/a/0")) == 1 and len(state.requests_to("/a/1")) == 1
    assert invoke("feeds", "full-text", "1", "off").output.strip() == "full text off for feed 1"
    assert feeds_json()[0]["full_text"] is False
    bad = invoke("feeds", "full-text", "1", "maybe")
    assert bad.exit_code == 1 and "say on or off" in bad.output


def test_full_text_content_is_the_page(env, server) -> None:  # type: ignore[no-untyped-def]
    state = server.state
    paragraph = "The ferry line will open in spring, the harbour council decided on Monday."
    state.pages["/p/0"] = (
        "<html><body><article>"
        + "".join(f"<p>{paragraph} ({i})</p>" for i in range(12))
        + "</article></body></html>"
    ).encode()
    state.documents["/one.xml"] = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Ferry</title>'
        b"<link>" + server.url("/p/0").encode() + b"</link><guid>p0</guid>"
        b"<description>Short.</description></item></channel></rss>"
    )
    invoke("feeds", "add", server.url("/one.xml"), "--full-text", "--no-discover")
    assert invoke("poll", "--all").exit_code == 0
    exported = json.loads(invoke("export").output.splitlines()[0])
    assert exported["title"] == "Ferry"
    from sqlalchemy import text

    with bootstrap.container().store.engine.connect() as conn:
        stored_content = conn.execute(text("SELECT content FROM article")).scalar_one()
    assert paragraph in stored_content and stored_content.count("ferry line") >= 10


def test_status_and_health_columns(env, server) -> None:  # type: ignore[no-untyped-def]
    invoke("feeds", "add", server.url("/ok"), "--no-discover")
    invoke("feeds", "add", server.url("/gone"), "--no-discover")
    invoke("feeds", "add", server.url("/429"), "--no-discover")
    assert invoke("poll", "--all").exit_code == 0
    assert [f["health"] for f in feeds_json()] == ["ok", "gone", "failing"]
    show = invoke("feeds", "show", "3").output
    assert "health: failing" in show and "429" in show and "next_fetch_at" in show
    status = invoke("status")
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == f"database: sqlite:///{env / 'cli.db'}"
    assert lines[1] == "feeds: 3 (1 ok, 1 failing, 1 gone)"
    assert lines[2] == "due now: 0"
    assert lines[4].startswith("  127.0.0.9: 2 of 3 feeds failing")
    assert any(line.startswith("queue depth: unknown (broker") for line in lines)
    assert "last digest runs: none" in lines


def test_prune_and_tombstones(env, server) -> None:  # type: ignore[no-untyped-def]
    server.state.documents["/p.xml"] = rss_items("p", 3)
    invoke("feeds", "add", server.url("/p.xml"), "--no-discover")
    assert invoke("poll", "--all").exit_code == 0
    bad = invoke("prune", "--older-than", "0")
    assert bad.exit_code == 1 and "positive number of days" in bad.output
    time.sleep(0.2)
    pruned = invoke("prune", "--older-than", "0.000001")  # ~0.09 s
    assert pruned.exit_code == 0 and pruned.output.startswith("pruned 3 articles")
    assert invoke("export").output == ""
    # The feed still carries them, and one more: polled again (the body changed, so it is
    # really parsed), only the new one is stored.
    server.state.documents["/p.xml"] = rss_items("p", 4)
    polled = invoke("poll", "--all")
    assert "1 new article," in polled.output, polled.output
    assert [json.loads(x)["title"] for x in invoke("export").output.splitlines()] == ["p story 3"]
    assert "tombstones (pruned articles not stored again): 9" in invoke("status").output
