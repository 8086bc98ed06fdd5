"""What a new user meets first, through the real CLI: a database that is not there, feeds
that cannot work, a poll in which nothing could be fetched, and messages that name the
right cause. Each bad input must give one clear line, the documented exit status, and
leave nothing created or lost."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.cli_support import invoke
from tests.conftest import POSTGRES_URL
from tests.hostile_server import HostileServer, rss_items
from worker import bootstrap

# Commands that only read or edit what is stored: none may create a database.
READERS = [
    ("feeds", "list"),
    ("feeds", "list", "--json"),
    ("feeds", "show", "1"),
    ("feeds", "export"),
    ("feeds", "remove", "1"),
    ("export",),
    ("status",),
    ("stories", "list"),
    ("subscriptions", "list"),
    ("topics", "list"),
    ("actors", "list"),
    ("poll", "--all"),
    ("reanalyze", "--pending"),
    ("digest", "preview", "morning"),
    ("prune", "--older-than", "30"),
    ("run",),
]


@pytest.fixture
def server() -> Iterator[HostileServer]:
    running = HostileServer("127.0.0.1")
    yield running
    running.close()


def one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    return str(result.output)


def feed_rows() -> list[dict[str, object]]:
    listing = invoke("feeds", "list", "--json")
    assert listing.exit_code == 0, listing.output
    return [json.loads(line) for line in listing.output.splitlines()]


# --------------------------------------------------------------------------- no database


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_reader_on_a_missing_database_names_it_and_creates_nothing(
    no_db_env: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    missing = no_db_env / "typo" / "newsmon.db"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{missing}")
    bootstrap.configure(None)
    before = sorted(no_db_env.iterdir())
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert str(missing) in line and "NEWSMON_DATABASE_URL" in line and "newsmon init" in line
    assert sorted(no_db_env.iterdir()) == before  # not even the directory


def test_an_empty_or_foreign_sqlite_file_is_left_untouched(
    no_db_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = no_db_env / "empty.db"
    empty.touch()
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{empty}")
    bootstrap.configure(None)
    assert "empty file" in one_error_line(invoke("feeds", "list"))
    assert empty.stat().st_size == 0 and sorted(p.name for p in no_db_env.iterdir()) == ["empty.db"]

    foreign = no_db_env / "other.db"
    engine = create_engine(f"sqlite:///{foreign}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
    engine.dispose()
    content = foreign.read_bytes()
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{foreign}")
    bootstrap.configure(None)
    assert "holds no newsmon data" in one_error_line(invoke("status"))
    assert foreign.read_bytes() == content  # not switched to WAL, no tables added


def test_an_empty_postgres_database_gets_no_tables_from_a_reader(
    no_db_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"newsmon_empty_{uuid.uuid4().hex[:8]}"
    server = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
        bootstrap.configure(None)
        assert "holds no newsmon data" in one_error_line(invoke("feeds", "list"))
        probe = create_engine(url)
        with probe.connect() as conn:
            tables = conn.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema='public'")
            ).scalar_one()
        assert tables == 0
        created = invoke("init")
        assert created.exit_code == 0 and "database ready" in created.output, created.output
        assert invoke("feeds", "list").output.startswith("no feeds yet")
        with probe.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM feed")).scalar_one() == 0
        probe.dispose()
    finally:
        bootstrap.configure(None)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_init_creates_once_and_status_names_the_database(no_db_env: Path) -> None:
    db = no_db_env / "cli.db"
    first = invoke("init")
    assert first.exit_code == 0 and first.output == f"database ready: sqlite:///{db}\n"
    assert invoke("feeds", "add", "https://a.example/rss", "--no-discover").exit_code == 0
    again = invoke("init")  # idempotent: the feed stays
    assert again.exit_code == 0
    assert [r["url"] for r in feed_rows()] == ["https://a.example/rss"]
    status = invoke("status")
    assert status.output.splitlines()[0] == f"database: sqlite:///{db}"


def test_adding_creates_the_database_but_a_refused_add_does_not(
    no_db_env: Path, server: HostileServer
) -> None:
    db = no_db_env / "cli.db"
    refused = invoke("feeds", "add", server.url("/missing.xml"))
    assert refused.exit_code == 1 and not db.exists(), refused.output
    server.state.documents["/feed.xml"] = rss_items("a", 2)
    assert invoke("feeds", "add", server.url("/feed.xml")).exit_code == 0
    assert db.exists() and len(feed_rows()) == 1


def test_an_add_refused_for_its_input_leaves_no_database(
    no_db_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The adders may create the database, but only by adding something: after a mistyped
    # URL, a refused add must not leave an empty database for the next command to read.
    db = no_db_env / "typo" / "newsmon.db"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{db}")
    bootstrap.configure(None)
    empty = no_db_env / "feeds.opml"
    empty.write_bytes(b"")
    refused = {
        ("feeds", "import", str(empty)): "empty",
        ("subscriptions", "add", "x", "--email", "a@@example..org"): "not an email address",
        ("topics", "add", "t", "NEAR/abc"): "NEAR/N",
        ("actors", "add", "Someone", "--type", "planet"): "--type",
    }
    for args, cause in refused.items():
        result = invoke(*args)
        assert result.exit_code == 1 and cause in one_error_line(result), (args, result.output)
        assert sorted(no_db_env.iterdir()) == [empty], args  # not even the directory
    assert "newsmon init" in one_error_line(invoke("topics", "list"))

    added = invoke("topics", "add", "t", "council")
    assert added.exit_code == 0 and db.is_file(), added.output
    assert invoke("topics", "list").output.startswith("user:t: council")
    # Once the database exists a refused add leaves it, and what it holds, as they were.
    assert invoke("topics", "add", "u", "NEAR/abc").exit_code == 1
    assert invoke("topics", "list").output.startswith("user:t: council")


def test_a_missing_postgres_database_says_how_to_create_it(
    no_db_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"newsmon_typo_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    bootstrap.configure(None)
    for args in (
        ("status",),
        ("init",),
        ("feeds", "add", "https://a.example/rss", "--no-discover"),
    ):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        line = one_error_line(result)
        assert f'database "{name}" does not exist' in line, line
        assert f"createdb {name}" in line and "newsmon init" in line, line
        assert "NEWSMON_DATABASE_URL" in line, line


# --------------------------------------------------------------------------- feeds add


def test_feeds_add_refuses_a_feed_it_can_tell_is_broken(env: Path, server: HostileServer) -> None:
    cases = {
        server.url("/missing.xml"): "HTTP 404",
        "http://no-such-host.invalid/feed.xml": "cannot resolve host",
        server.url("/garbage"): "no feed found",
    }
    for url, cause in cases.items():
        result = invoke("feeds", "add", url)
        assert result.exit_code == 1, (url, result.output)
        line = one_error_line(result)
        assert cause in line and "nothing added" in line and "--force" in line, line
    assert feed_rows() == []

    kept = invoke("feeds", "add", server.url("/missing.xml"), "--force")
    assert kept.exit_code == 0 and "adding it as given" in kept.output, kept.output
    unchecked = invoke("feeds", "add", "http://no-such-host.invalid/feed.xml", "--no-discover")
    assert unchecked.exit_code == 0, unchecked.output
    # A failure that may pass (503 maintenance) is added, with the reason printed.
    later = invoke("feeds", "add", server.url("/503"))
    assert later.exit_code == 0 and "could not check" in later.output, later.output
    assert len(feed_rows()) == 3


def test_feeds_add_of_a_page_whose_feed_is_listed_names_both(
    env: Path, server: HostileServer
) -> None:
    server.state.documents["/feed.xml"] = rss_items("a", 2)
    assert invoke("feeds", "add", server.url("/feed.xml")).exit_code == 0
    result = invoke("feeds", "add", server.url("/garbage"))
    assert result.exit_code == 1
    found, line = result.output.splitlines()  # what discovery found, then the error
    assert found.startswith("found feed") and line.startswith("error: ")
    assert server.url("/garbage") in line and server.url("/feed.xml") in line
    assert "already in the list" in line and len(feed_rows()) == 1


def test_a_private_address_refusal_names_the_setting_and_is_not_a_failure(
    env: Path, monkeypatch: pytest.MonkeyPatch, server: HostileServer
) -> None:
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "false")
    bootstrap.configure(None)
    server.state.documents["/feed.xml"] = rss_items("a", 2)
    url = server.url("/feed.xml")
    refused = invoke("feeds", "add", url)
    assert "NEWSMON_ALLOW_PRIVATE_NETWORKS" in one_error_line(refused)

    assert invoke("feeds", "add", url, "--no-discover").exit_code == 0
    polled = invoke("poll", "--all")
    assert polled.exit_code == 3, polled.output  # the only feed failed
    (row,) = feed_rows()
    assert "NEWSMON_ALLOW_PRIVATE_NETWORKS" in str(row["last_error"])
    assert row["health"] != "failing" and row["failure_score"] == 0
    # Tried again at the usual interval (30 minutes by default), not backed off 90.
    fetched = datetime.fromisoformat(str(row["last_fetch_at"]))
    wait = datetime.fromisoformat(str(row["next_fetch_at"])) - fetched
    assert timedelta(minutes=9) <= wait <= timedelta(minutes=31), wait
    assert server.state.requests_to("/feed.xml") == []  # nothing was fetched

    # Once allowed, the next poll takes it.
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    bootstrap.configure(None)
    again = invoke("poll", "--all")
    assert again.exit_code == 0 and "2 new articles" in again.output, again.output


# --------------------------------------------------------------------------- exit codes


def test_poll_exit_status_tells_every_feed_failed_from_some(
    env: Path, server: HostileServer
) -> None:
    nothing = invoke("poll", "--all")
    assert nothing.exit_code == 0 and nothing.output.startswith("polled 0 feeds")

    for path in ("/missing.xml", "/503"):
        assert invoke("feeds", "add", server.url(path), "--no-discover").exit_code == 0
    failed = invoke("poll", "--all")
    assert failed.exit_code == 3, failed.output
    assert "error: every feed failed (2 feeds)" in failed.output

    server.state.documents["/feed.xml"] = rss_items("a", 1)
    assert invoke("feeds", "add", server.url("/feed.xml")).exit_code == 0
    partial = invoke("poll", "--all")
    assert partial.exit_code == 0, partial.output  # partial failure is a normal day
    assert "polled 3 feeds" in partial.output and "1 new article," in partial.output


# --------------------------------------------------------------------------- messages


def test_messages_name_the_real_cause(env: Path) -> None:
    bad_address = invoke("subscriptions", "add", "x", "--email", "a@@example..org")
    line = one_error_line(bad_address)
    assert "not an email address" in line and "several" not in line
    several = invoke("subscriptions", "add", "x", "--email", "a@b.example, c@d.example")
    assert "several" in one_error_line(several)

    empty = env / "feeds.opml"
    empty.write_bytes(b"")
    line = one_error_line(invoke("feeds", "import", str(empty)))
    assert "feeds.opml" in line and "empty" in line and "no element found" not in line

    for query in ("NEAR/abc", "ceo NEAR/ lawsuit"):
        assert "NEAR/N" in one_error_line(invoke("topics", "test", query))
        assert "NEAR/N" in one_error_line(invoke("topics", "add", "t", query))
    assert invoke("topics", "list").output.startswith("no topics")


def test_export_errors_name_the_file_the_user_gave(env: Path) -> None:
    missing_dir = env / "nowhere" / "out.jsonl"
    line = one_error_line(invoke("export", "--output", str(missing_dir)))
    assert str(missing_dir) in line and ".part" not in line
    line = one_error_line(invoke("export", "--output", str(env)))
    assert "is a directory" in line and ".part" not in line
    assert not list(env.glob("*.part"))
    # feeds export FILE: the same, not a traceback
    line = one_error_line(invoke("feeds", "export", str(missing_dir)))
    assert f"cannot write {missing_dir}" in line
    assert "Is a directory" in one_error_line(invoke("feeds", "export", str(env)))


def test_feeds_list_prints_whole_urls_when_piped(env: Path) -> None:
    long_url = "https://news.example.org/" + "/".join(["section"] * 12) + "/feed.xml"
    assert len(long_url) > 100
    assert invoke("feeds", "add", long_url, "--no-discover").exit_code == 0
    assert invoke("feeds", "add", "https://b.example/rss", "--no-discover").exit_code == 0
    lines = invoke("feeds", "list").output.splitlines()
    assert f"  {long_url}" in lines and "  https://b.example/rss" in lines
    assert lines[0].startswith("feed 1  new")
    imported = env / "one.opml"
    imported.write_text(
        '<opml version="2.0"><body><outline xmlUrl="https://c.example/rss"/></body></opml>'
    )
    assert "imported 1 feed (0 already present)" in invoke("feeds", "import", str(imported)).output


def in_a_terminal(columns: int, *args: str) -> str:
    """What the installed ``newsmon`` prints on a terminal ``columns`` wide (a real pty)."""
    leader, follower = pty.openpty()
    environment = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "NO_COLOR": "1"}
    with subprocess.Popen(
        [str(Path(sys.executable).with_name("newsmon")), *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=environment,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_feeds_list_on_a_terminal_breaks_no_url(env: Path) -> None:
    long_url = "https://news.example.org/" + "/".join(["section"] * 12) + "/feed.xml"
    assert invoke("feeds", "add", long_url, "--no-discover").exit_code == 0
    # 80 columns: one block a feed, the URL whole on its own line
    narrow = in_a_terminal(80, "feeds", "list").splitlines()
    assert f"  {long_url}" in narrow and narrow[0].startswith("feed 1  new"), narrow
    # wide enough for the URL and the other columns: a table, the URL whole in its cell
    wide = in_a_terminal(len(long_url) + 80, "feeds", "list")
    assert wide.startswith("┏") and any(f"│ {long_url} " in line for line in wide.splitlines()), (
        wide
    )


def test_counts_agree_with_their_nouns(env: Path, server: HostileServer) -> None:
    server.state.documents["/feed.xml"] = rss_items("a", 1)  # "Story 0 of a: the council met."
    assert invoke("feeds", "add", server.url("/feed.xml")).exit_code == 0
    polled = invoke("poll", "--all", "--defer-analysis")
    assert "polled 1 feed in" in polled.output and "1 new article," in polled.output
    assert invoke("feeds", "list").output.splitlines()[0].endswith("  1 article")
    assert invoke("topics", "add", "t", "council").exit_code == 0
    assert invoke("topics", "test", "council").output.endswith("1 article matches council\n")
