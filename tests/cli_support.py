"""Driving the CLI in tests: an isolated environment fixture and an ``invoke`` helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from worker import bootstrap
from worker.cli import app
from worker.settings import REPO_ROOT

runner = CliRunner()


@pytest.fixture
def env(no_db_env: Path) -> Path:
    """:func:`no_db_env` with its database made by ``newsmon init``, as a user would."""
    result = invoke("init")
    assert result.exit_code == 0, result.output
    bootstrap.configure(None)
    return no_db_env


@pytest.fixture
def no_db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings for the CLI from the environment only: a private SQLite path (no file yet),
    loopback allowed."""
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    # Every test server is one host (127.0.0.1): politeness tests set their own limits.
    monkeypatch.setenv("NEWSMON_HOST_MIN_SPACING", "0")
    monkeypatch.setenv("NEWSMON_SEEDS_DIR", str(REPO_ROOT / "seeds"))
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    bootstrap.configure(None)
    yield tmp_path
    bootstrap.configure(None)


def invoke(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)
