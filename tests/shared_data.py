"""Access to the shared data kept outside the repository (seed article, corpora).

The shared directory is ``$NEWSMON_SHARED_DIR``, by default ``<repo>/../shared``. Tests
that need a file from it call :func:`shared_file`. When the file is missing:

* in CI (``CI=true``) the test FAILS: CI is set up with the data, so absence is a broken
  setup that must not pass silently;
* elsewhere it is skipped with the reason "external data absent", so a fresh clone
  without the data still runs the rest of the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SKIP_REASON = "external data absent"


def shared_dir() -> Path:
    configured = os.environ.get("NEWSMON_SHARED_DIR")
    return Path(configured) if configured else REPO.parent / "shared"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def shared_file(relative: str) -> Path:
    """The path of ``relative`` under the shared directory, or fail/skip as above."""
    path = shared_dir() / relative
    if path.is_file():
        return path
    detail = f"{SKIP_REASON}: {path} not found (set NEWSMON_SHARED_DIR to the shared directory)"
    if in_ci():
        pytest.fail(detail, pytrace=False)
    pytest.skip(detail)
