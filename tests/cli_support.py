"""Driving the CLI in tests: an isolated environment fixture, an ``invoke`` helper, and
``demo_run``: ``newsmon demo`` run once per session, as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DemoRun:
    directory: Path  # digest.html, digest.txt, articles.jsonl, newsmon.db
    output: str  # what the command printed


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``newsmon demo --dir DIR`` in its own process, through the installed command, so the
    files are the ones a newcomer opens. Once a session: it loads the models."""
    directory = tmp_path_factory.mktemp("demo") / "out"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    environment["NEWSMON_SEEDS_DIR"] = str(REPO_ROOT / "seeds")
    # the suite's choice of model (tests/conftest.py), for the same speed as the rest
    environment["NEWSMON_TARGET_MODEL"] = os.environ.get("NEWSMON_TARGET_MODEL", "fast")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("newsmon")), "demo", "--dir", str(directory)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return DemoRun(directory, result.stdout)
