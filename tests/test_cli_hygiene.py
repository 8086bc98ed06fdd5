"""CLI hygiene under faults: an unreachable database or broker is one clear line, a
non-zero exit and no secret in the output; parked-task commands behave the same way."""

from __future__ import annotations

import pytest

from tests.cli_support import invoke

DB_SECRET = "db-pass-7c1f0e"
BROKER_SECRET = "broker-pass-3a9d2b"


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    return errors[0]


def test_poll_enqueue_with_the_broker_down_is_one_line_without_secrets(
    env,
    server,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    url = server.state.put("/a.xml", "<rss version='2.0'><channel><title>a</title></channel></rss>")
    assert invoke("feeds", "add", "--no-discover", url).exit_code == 0
    monkeypatch.setenv("NEWSMON_BROKER_URL", f"redis://:{BROKER_SECRET}@127.0.0.1:1/0")
    # A process of its own: this process's Celery app may be bound to another broker.
    import os
    import subprocess
    import sys
    from pathlib import Path

    newsmon = str(Path(sys.executable).parent / "newsmon")
    result = subprocess.run(
        [newsmon, "poll", "--all", "--enqueue"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    result.output = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 1, result.output  # type: ignore[attr-defined]
    line = _one_error_line(result.output)  # type: ignore[attr-defined]
    assert "cannot reach the broker" in line
    assert BROKER_SECRET not in result.output
    # Nothing half-done: the feed was not polled and stays due.
    listed = invoke("feeds", "list", "--json")
    assert '"last_fetch_at": null' in listed.output


def test_parked_tasks_with_the_broker_down_is_one_line(
    env,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("NEWSMON_BROKER_URL", f"redis://:{BROKER_SECRET}@127.0.0.1:1/0")
    for args in (["tasks", "parked"], ["tasks", "unpark", "no-such-id"]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert "cannot reach the broker" in _one_error_line(result.output)
        assert BROKER_SECRET not in result.output


def test_database_password_never_appears_in_error_lines(
    env,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv(
        "NEWSMON_DATABASE_URL", f"postgresql://newsmon:{DB_SECRET}@127.0.0.1:1/newsmon"
    )
    for args in (["feeds", "list"], ["status"], ["poll", "--all"]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        _one_error_line(result.output)
        assert DB_SECRET not in result.output


@pytest.mark.redis
def test_unknown_parked_task_is_not_found(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    monkeypatch.setenv(
        "NEWSMON_BROKER_URL", os.environ.get("NEWSMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    result = invoke("tasks", "unpark", "no-such-id")
    assert result.exit_code == 1
    assert "no parked task no-such-id" in _one_error_line(result.output)
    assert invoke("tasks", "parked").exit_code == 0
