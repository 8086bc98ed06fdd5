"""The HTML digest in a real browser: headless Chromium (Debian's ``chromium`` package).

Each test starts Chromium with a fresh profile and every network request routed through a
recording proxy on loopback, so "no external request" is measured, not assumed; a control
page with a remote image proves the proxy does see requests. Screenshots at desktop and
mobile widths are kept in ``tests/artifacts/`` (ignored by git) for people to look at.

The page is the digest as a mail client shows it: the ``cid:`` charts resolved to the
attached PNGs (``inline_as_data_uris``, as ``newsmon digest preview`` does). The file
``newsmon demo`` writes is opened as it is, since that is what a newcomer looks at first.
"""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from html import escape as html_escape
from pathlib import Path

import pytest
from PIL import Image

from feeds.digest.compose import compose_digest
from feeds.digest.render import render_email
from feeds.usecases.deliver import inline_as_data_uris
from tests.cli_support import DemoRun
from tests.test_digest_content import CORPUS, PERIOD, hostile_articles, sub

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
]
# Chromium's own housekeeping that no flag fully silences (the updater, the sign-in
# service). They come from the browser, not the page, and are told apart by host; the
# page's resources are also listed by the page itself (Resource Timing, see PROBE).
BROWSER_SERVICES = (
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "clientservices.googleapis.com",
    "redirector.gvt1.com",
)
# A test harness page (never an email): the digest in a frame exactly ``width`` pixels wide
# (a headless window cannot be narrower than 500 px) and a script that writes the frame's
# layout into the DOM, where `--dump-dom` reports it.
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="border:0;width:%(width)dpx;height:%(height)dpx" srcdoc="%(doc)s"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const win = document.getElementById('f').contentWindow;
  const doc = win.document.documentElement;
  const imgs = Array.from(win.document.images);
  const fetched = win.performance.getEntriesByType('resource').map(e => e.name)
    .filter(n => !n.startsWith('data:'));
  const out = document.body;
  out.setAttribute('data-overflow', String(doc.scrollWidth > win.innerWidth));
  out.setAttribute('data-viewport', String(win.innerWidth));
  out.setAttribute('data-fetched', String(fetched.length));
  out.setAttribute('data-images', String(imgs.length));
  out.setAttribute('data-images-ok',
    String(imgs.every(i => i.complete && i.naturalWidth > 0 && i.width <= win.innerWidth)));
});
</script></body></html>"""

pytestmark = pytest.mark.slow


class RecordingProxy:
    """Accepts proxy connections on loopback, records each request line, answers 403."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    line = "(unreadable)"
                self.requests.append(line)
                try:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._sock.close()

    @property
    def from_pages(self) -> list[str]:
        """The requests that did not come from Chromium's own services."""
        return [r for r in self.requests if not any(h in r for h in BROWSER_SERVICES)]


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    p = RecordingProxy()
    yield p
    p.close()


def chromium(
    proxy: RecordingProxy,
    page: Path | str,
    width: int,
    height: int,
    *extra: str,
    direct: str | None = None,
) -> str:
    """Chromium's output for ``page`` (a file or a URL). Every request goes through the
    recording proxy, loopback included, except to the ``direct`` host (a server under
    test)."""
    bypass = "<-loopback>" + (f";{direct}" if direct else "")
    assert CHROMIUM, "Chromium is not installed: apt-get install -y chromium"
    with tempfile.TemporaryDirectory(prefix="newsmon-chromium-") as profile:
        result = subprocess.run(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{proxy.port}",
                f"--proxy-bypass-list={bypass}",
                f"--window-size={width},{height}",
                *extra,
                page.as_uri() if isinstance(page, Path) else page,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def digest_page(
    tmp_path: Path,
    articles: list | None = None,
    width: int = 800,
    height: int = 1200,  # type: ignore[type-arg]
) -> tuple[Path, Path]:
    content = compose_digest(
        subscription=sub(actors=("Russia", "Norway")),
        period=PERIOD,
        articles=articles or CORPUS,
        generated_at=PERIOD.end,
        charts=True,
    )
    email = render_email(
        content,
        sender="n <n@newsmon.example>",
        recipient="a@b.example",
        message_id="<d@newsmon.example>",
        unsubscribe_link="https://news.example/newsmon/unsubscribe/T",
    )
    html = inline_as_data_uris(email.html, email.inline_images)
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    return page, probe_page(tmp_path, html, width, height)


def probe_page(tmp_path: Path, html: str, width: int, height: int) -> Path:
    """The harness page (:data:`PROBE`) around the digest ``html``."""
    probed = tmp_path / "probed.html"
    probed.write_text(
        PROBE % {"width": width, "height": height, "doc": html_escape(html, quote=True)},
        encoding="utf-8",
    )
    return probed


@pytest.mark.parametrize(
    ("label", "width", "height"), [("desktop", 1280, 1600), ("mobile", 390, 2400)]
)
def test_digest_renders_at_desktop_and_mobile_width_without_network(
    tmp_path: Path, proxy: RecordingProxy, label: str, width: int, height: int
) -> None:
    page, probed = digest_page(tmp_path, width=width, height=height)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"digest-{label}.png"
    shot.unlink(missing_ok=True)
    chromium(proxy, page, width, height, f"--screenshot={shot}")
    dom = chromium(
        proxy, probed, max(width, 800), height, "--dump-dom", "--virtual-time-budget=3000"
    )

    assert proxy.from_pages == []  # not one request left the page
    assert 'data-fetched="0"' in dom
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (width, height)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # text, panel bars and charts, not a blank page
    assert 'data-images="2"' in dom and 'data-images-ok="true"' in dom
    assert 'data-overflow="false"' in dom  # nothing wider than the screen
    assert f'data-viewport="{width}"' in dom


def test_hostile_digest_runs_no_script_and_loads_nothing(
    tmp_path: Path, proxy: RecordingProxy
) -> None:
    page, _ = digest_page(tmp_path, hostile_articles())
    dom = chromium(proxy, page, 800, 1200, "--dump-dom", "--virtual-time-budget=3000")
    assert proxy.from_pages == []
    assert "<script" not in dom.lower() and "evil.example" not in dom


def test_the_demo_digest_file_shows_every_chart(
    tmp_path: Path, proxy: RecordingProxy, demo_run: DemoRun
) -> None:
    # The file `newsmon demo` writes, opened as a newcomer opens it: from disk, in a browser.
    html = (demo_run.directory / "digest.html").read_text(encoding="utf-8")
    charts = html.count("<img ")
    assert charts >= 1 and "cid:" not in html
    probed = probe_page(tmp_path, html, 800, 2400)
    dom = chromium(proxy, probed, 800, 2400, "--dump-dom", "--virtual-time-budget=3000")
    assert f'data-images="{charts}"' in dom and 'data-images-ok="true"' in dom
    assert 'data-fetched="0"' in dom and proxy.from_pages == []


def test_the_proxy_sees_requests_a_page_makes(tmp_path: Path, proxy: RecordingProxy) -> None:
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://tracker.example/pixel.gif"></body></html>')
    chromium(proxy, control, 400, 300, "--dump-dom", "--virtual-time-budget=3000")
    assert any("tracker.example" in r for r in proxy.from_pages), proxy.requests
