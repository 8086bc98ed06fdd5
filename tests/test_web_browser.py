"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` package).

`newsmon web` runs as its own process on a filled SQLite database; Chromium loads the
overview, an actor page and a story page through a recording proxy (so a page that asked
for anything off this machine would show up), and the test reads the rendered DOM
(``--dump-dom``): the chart is there, and the numbers the page shows (in the chart's
bars and dots and in its figures) are the ones the JSON API returns for the same data.
Screenshots go to ``tests/artifacts/`` (ignored by git; CI keeps them as artefacts).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import SqlStore
from tests.test_digest_browser import ARTIFACTS, RecordingProxy, chromium
from tests.web_support import WebServer, World, fill

pytestmark = pytest.mark.slow


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[WebServer, World]]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    world = fill(SqlStore(engine), datetime.now(UTC).replace(microsecond=0))
    engine.dispose()
    # No token: the loopback-only mode, so the browser needs no login form.
    web = WebServer(sqlite_url, tmp_path, token=None)
    yield web, world
    web.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    p = RecordingProxy()
    yield p
    p.close()


def browse(proxy: RecordingProxy, url: str, *extra: str, width: int = 1280) -> str:
    """Chromium on a page of the server under test (reached directly, all else proxied)."""
    return chromium(proxy, url, width, 1800, *extra, direct="127.0.0.1")


def look(proxy: RecordingProxy, url: str, name: str) -> str:
    """The page's rendered DOM, and a screenshot of it in tests/artifacts/."""
    dom = browse(proxy, url, "--dump-dom")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"web-{name}.png"
    shot.unlink(missing_ok=True)
    browse(proxy, url, f"--screenshot={shot}")
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, f"{shot} looks blank"
    return dom


def _numbers(dom: str, attribute: str) -> list[float]:
    return [float(v) for v in re.findall(rf'{attribute}="(-?[0-9.]+)"', dom)]


def _text_of(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
    assert match, f"#{element_id} is not on the page"
    return match.group(1).strip()


def test_overview_actor_and_story_pages_show_the_apis_numbers(
    site: tuple[WebServer, World], proxy: RecordingProxy
) -> None:
    web, world = site
    api = httpx.Client(base_url=web.base, timeout=30)
    overview = api.get("/api/v1/overview").json()
    actor = api.get("/api/v1/actors/Nordland").json()
    story = api.get(f"/api/v1/stories/{world.story_id}").json()

    page = look(proxy, f"{web.base}/", "overview")
    assert 'data-chart="volume"' in page
    assert int(_text_of(page, "total-articles")) == overview["articles"]
    # the two volume charts: hourly (last two days) and daily, bar by bar
    bars = _numbers(page, "data-articles")
    hourly = [p["articles"] for p in overview["hourly"]]
    daily = [p["articles"] for p in overview["daily"]]
    assert bars == hourly + daily
    assert overview["movers"][0]["name"] in page and "Broken Outlet" in page

    page = look(proxy, f"{web.base}/actors/Nordland", "actor")
    assert 'data-chart="sentiment"' in page
    assert int(_text_of(page, "actor-articles")) == actor["total"]["articles"]
    assert _text_of(page, "actor-mean") == f"{actor['total']['mean']:+.2f}"
    assert _numbers(page, "data-articles") == [p["articles"] for p in actor["series"]]
    # one dot per bucket with articles, at the API's mean
    assert _numbers(page, "data-mean") == [p["mean"] for p in actor["series"] if p["articles"]]
    assert "Sudmark" in page  # named alongside

    page = look(proxy, f"{web.base}/stories/{world.story_id}", "story")
    assert int(_text_of(page, "story-articles")) == story["articles"]
    assert page.count("<li>") >= len(story["timeline"])
    for member in story["timeline"]:
        assert member["title"] in page

    assert proxy.from_pages == [], "a page asked for something off this machine"


def test_dashboard_fits_a_phone(site: tuple[WebServer, World], proxy: RecordingProxy) -> None:
    web, _ = site
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "web-overview-mobile.png"
    browse(proxy, f"{web.base}/", f"--screenshot={shot}", width=500)
    assert Image.open(shot).size[0] == 500
