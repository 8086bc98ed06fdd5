"""The subscriptions and digest commands through Typer's runner, against real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.digest.unsubscribe import make_token
from feeds.models import ActorSentiment, AnalysisResult, NewArticle
from tests.cli_support import invoke
from worker import bootstrap
from worker.settings import REPO_ROOT

SECRET = "cli-secret-5d1e9a3b7c2f4e60"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NEWSMON_SEEDS_DIR", str(REPO_ROOT / "seeds"))
    monkeypatch.setenv("NEWSMON_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("NEWSMON_PUBLIC_URL", "https://news.example.org/nm")
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    bootstrap.configure(None)
    yield tmp_path
    bootstrap.configure(None)


def add_article(n: int, actor: str = "Russia") -> None:
    c = bootstrap.container()
    now = datetime.now(UTC) - timedelta(minutes=1)
    with c.store.transaction() as repo:
        feeds = repo.list_feeds()
        feed = feeds[0] if feeds else repo.add_feed("https://wire.example/rss", "Wire", now)
        ref = repo.add_article(
            NewArticle(
                feed_id=feed.id,
                entry_key=f"k{n}",
                url=f"https://wire.example/{n}",
                canonical_url=f"https://wire.example/{n}",
                content_hash=f"h{n}",
                title=f"Headline {n}",
                published=now,
                author=None,
                summary="Summary.",
                content="",
                categories=(),
                seen_at=now,
            )
        )
        repo.save_analysis(
            ref.id,
            AnalysisResult(
                actors=(ActorSentiment(actor, "country", "negative", -0.5, ("It went badly.",), 1),)
            ),
            now,
        )


def test_filters_show_pause_resume(env: Path) -> None:
    added = invoke(
        "subscriptions",
        "add",
        "desk",
        "--email",
        "ann@example.org",
        "--actor",
        "Russia",
        "--sentiment",
        "negative",
        "--outlet",
        "Wire",
        "--query",
        "arctic",
        "--spike-alerts",
    )
    assert added.exit_code == 0, added.output
    listing = invoke("subscriptions", "list").output
    assert "sentiment=negative" in listing and "outlet=Wire" in listing
    assert "query=arctic" in listing and "spike-alerts" in listing
    bad = invoke("subscriptions", "add", "x", "--email", "a@example.org", "--sentiment", "angry")
    assert bad.exit_code == 1 and "negative, neutral or positive" in bad.output

    changed = invoke(
        "subscriptions", "filters", "desk", "--clear", "--actor", "Norway", "--no-spike-alerts"
    )
    assert changed.exit_code == 0 and changed.output.strip() == "desk: actor=Norway"

    add_article(1, "Norway")
    shown = invoke("subscriptions", "show", "desk")
    assert shown.exit_code == 0, shown.output
    assert "daily at 08:00 UTC" in shown.output and "ann@example.org" in shown.output
    assert "- Headline 1" in shown.output and "subject: Daily: 1 story" in shown.output

    assert invoke("subscriptions", "pause", "desk").exit_code == 0
    assert "(paused)" in invoke("subscriptions", "list").output
    assert invoke("subscriptions", "resume", "desk").exit_code == 0
    assert "(paused)" not in invoke("subscriptions", "list").output
    missing = invoke("subscriptions", "pause", "nope")
    assert missing.exit_code == 1 and "no subscription named 'nope'" in missing.output


def test_preview_html_with_chart_and_text(env: Path) -> None:
    assert (
        invoke(
            "subscriptions", "add", "desk", "--email", "ann@example.org", "--actor", "Russia"
        ).exit_code
        == 0
    )
    add_article(1)
    out = env / "preview.html"
    result = invoke("digest", "preview", "desk", "--output", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Headline 1" in html and "data:image/png;base64," in html and "cid:" not in html
    assert "https://news.example.org/nm/unsubscribe/v1." in html
    text = invoke("digest", "preview", "desk", "--format", "text")
    assert text.exit_code == 0 and "* Headline 1" in text.output and "<" not in text.output
    txt_file = env / "preview.txt"
    assert (
        invoke("digest", "preview", "desk", "--format", "text", "--output", str(txt_file)).exit_code
        == 0
    )
    assert "* Headline 1" in txt_file.read_text()
    bad = invoke("digest", "preview", "desk", "--format", "pdf")
    assert bad.exit_code == 1 and "html or text" in bad.output


def test_unsubscribe_command(env: Path) -> None:
    assert (
        invoke(
            "subscriptions",
            "add",
            "desk",
            "--email",
            "Ann <ann@example.org>",
            "--email",
            "bob@example.org",
        ).exit_code
        == 0
    )
    token = make_token(SECRET, 1, "ann@example.org")
    done = invoke("subscriptions", "unsubscribe", token)
    assert done.exit_code == 0 and "unsubscribed ann@example.org from desk" in done.output
    again = invoke("subscriptions", "unsubscribe", token)
    assert again.exit_code == 0 and "already unsubscribed" in again.output
    last = invoke("subscriptions", "unsubscribe", make_token(SECRET, 1, "bob@example.org"))
    assert "paused" in last.output
    listed = invoke("subscriptions", "list").output
    assert "desk: daily" in listed and "nobody (every recipient unsubscribed)" in listed
    assert "bob@example.org" not in listed
    forged = invoke("subscriptions", "unsubscribe", token[:-3] + "xyz")
    assert forged.exit_code == 1 and forged.output.startswith("error: ")
    assert len(forged.output.strip().splitlines()) == 1


def test_send_without_a_secret_is_a_one_line_error(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_UNSUBSCRIBE_SECRET", "changeme")
    bootstrap.configure(None)
    assert invoke("subscriptions", "add", "desk", "--email", "a@example.org").exit_code == 0
    result = invoke("digest", "send", "desk")
    assert result.exit_code == 1
    assert "NEWSMON_UNSUBSCRIBE_SECRET" in result.output
    assert len(result.output.strip().splitlines()) == 1
