"""Lint, types and the compose file are part of the test suite, so one command checks all."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    # one layout for everyone's code: a diff shows what changed, not who wrote it
    result = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun: ruff format ."


def test_mypy() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid() -> None:
    # `docker compose config` where the plugin exists, else the stand-alone docker-compose.
    if _run("docker", "compose", "version").returncode == 0 if shutil.which("docker") else False:
        command = ["docker", "compose"]
    else:
        found = shutil.which("docker-compose")
        assert found, "no `docker compose` nor `docker-compose` (scripts/test installs it)"
        command = [found]
    result = _run(*command, "-f", "docker-compose.yml", "config", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
