"""The benchmark's corpus and its web server: N feeds x M entries served by nginx.

Each feed is an RSS 2.0 document whose items carry a title, link, guid, pubDate, a short
description and the full article as ``content:encoded`` (about 4 KB of HTML, so a feed of
50 entries weighs about 230 KB, like a big publisher's feed). A share of every feed's
items are syndicated copies: the same wire story (same link, title and text) carried by
many feeds, which the deduplication must store once.

nginx runs as a private instance (its own prefix, config, pid and logs in a temporary
directory) on a loopback port, with what real publishers send: strong ETags,
Last-Modified, and gzip for XML.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

WORDS = (
    "government minister said on Tuesday that the new policy would affect thousands of "
    "families across the region while critics warned about costs and delays in parliament "
    "officials confirmed the talks will continue next week after a long meeting in the "
    "capital where protesters gathered outside the building demanding answers about the "
    "budget the economy grew faster than expected according to figures released by the "
    "statistics office analysts expect interest rates to remain high as inflation slows "
    "the company reported record profits but shares fell after investors questioned its "
    "outlook emergency services responded to flooding in several towns after heavy rain "
    "the court ruled that the law was unconstitutional and ordered a new hearing players "
    "celebrated the victory in front of a crowd of fans while the coach praised the team"
).split()
ACTORS = (
    "NATO",
    "Russia",
    "Ukraine",
    "the European Union",
    "China",
    "the United Nations",
    "Emmanuel Macron",
    "Olaf Scholz",
    "the Kremlin",
    "Germany",
)
MOODS = ("praised", "condemned", "welcomed", "criticised", "supported", "attacked")
BASE_TIME = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)

# What outlets' HTML really carries inside CDATA, as a web page would: bare ampersands in
# names, entity soup, tags in capitals, a lone "<" in running text, typographic quotes.
# Each is spliced into a sentence now and then by ``_roughen``.
REAL_WORLD_BITS = (
    "AT&T",
    "Q&A",
    "the S&P 500",
    "Johnson & Johnson",
    "M&S",
    "R&D",
    "rock & roll",
    "&nbsp;",
    "&mdash;",
    "&#8217;s",
    "&#x2019;",
    "&quot;quoted&quot;",
    "caf&eacute;",
    "&amp;",
    "&hellip;",
    "<B>bold</B>",
    "<Strong>strong</Strong>",
    "<BR>",
    '<A HREF="https://example.org/x?a=1&b=2">a link</A>',
    "growth < 2%",
    "\u201cquoted\u201d",
    "na\u00efve",
)


@dataclass(frozen=True)
class Story:
    link: str
    title: str
    description: str
    content: str
    published: datetime


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = (
            f"{rng.choice(ACTORS)} {rng.choice(MOODS)} {rng.choice(ACTORS)}"
        )
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _roughen(rng: random.Random, text: str) -> str:
    """``text`` (already escaped HTML) with a few real-world bits spliced in."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(REAL_WORLD_BITS))
    return " ".join(words)


def _story(rng: random.Random, link: str, published: datetime, real_world: bool) -> Story:
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    if real_world and rng.random() < 0.3:
        title = f"{title} {rng.choice(('AT&T', 'Q&A', 'S&P', 'M&S'))}"
    paragraphs = []
    size = 0
    target = rng.randint(3000, 5500)  # bytes of article HTML
    while size < target:
        para = escape(" ".join(_sentence(rng) for _ in range(rng.randint(3, 6))))
        if real_world:
            para = _roughen(rng, para)
            tag = rng.choice(("p", "p", "p", "P"))
            paragraphs.append(f"<{tag}>{para}</{tag}>")
        else:
            paragraphs.append(f"<p>{para}</p>")
        size += len(para) + 7
    content = "\n".join(paragraphs)
    return Story(link, title, _sentence(rng), content, published)


def _item(story: Story, guid: str, real_world: bool) -> str:
    # Outlets that write bare ampersands put their titles in CDATA too.
    title = f"<![CDATA[{story.title}]]>" if real_world else escape(story.title)
    return (
        "<item>"
        f"<title>{title}</title>"
        f"<link>{escape(story.link)}</link>"
        f'<guid isPermaLink="false">{escape(guid)}</guid>'
        f"<pubDate>{format_datetime(story.published, usegmt=True)}</pubDate>"
        f"<description>{escape(story.description)}</description>"
        f"<content:encoded><![CDATA[{story.content}]]></content:encoded>"
        "</item>\n"
    )


def generate_corpus(
    docroot: Path,
    *,
    feeds: int,
    entries: int,
    syndicated: float = 0.2,
    seed: int = 8,
    real_world: bool = False,
) -> list[str]:
    """Write ``feeds`` RSS files under ``docroot/feeds/``; returns their paths (URL paths).

    ``syndicated`` is the share of each feed's entries that are wire copies drawn from a
    pool shared by all feeds. ``real_world`` writes item HTML as outlets do (see
    ``REAL_WORLD_BITS``), titles in CDATA, and one feed in ten in a legacy encoding
    (ISO-8859-1 or windows-1252, declared in the XML declaration).
    """
    rng = random.Random(seed)
    out_dir = docroot / "feeds"
    out_dir.mkdir(parents=True, exist_ok=True)
    wire_count = int(round(entries * syndicated))
    pool = [
        _story(
            rng,
            f"https://wire.example/story/{n}",
            BASE_TIME - timedelta(minutes=7 * n),
            real_world,
        )
        for n in range(max(wire_count * 4, 1))
    ]
    paths = []
    for f in range(feeds):
        host = f"outlet{f}.example"
        wires = rng.sample(pool, wire_count) if wire_count else []
        own = [
            _story(
                rng,
                f"https://{host}/news/{n}",
                BASE_TIME - timedelta(minutes=11 * n + f),
                real_world,
            )
            for n in range(entries - wire_count)
        ]
        items = [_item(s, f"{host}-wire-{s.link.rsplit('/', 1)[1]}", real_world) for s in wires]
        items += [_item(s, f"{host}-{n}", real_world) for n, s in enumerate(own)]
        rng.shuffle(items)
        encoding = "utf-8"
        if real_world and f % 10 == 9:
            encoding = ("iso-8859-1", "windows-1252")[f // 10 % 2]
        doc = (
            f'<?xml version="1.0" encoding="{encoding}"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Outlet {f}</title><link>https://{host}/</link>"
            f"<description>News from outlet {f}</description><ttl>15</ttl>\n"
            + "".join(items)
            + "</channel></rss>\n"
        )
        path = f"/feeds/{f}.xml"
        # A legacy encoding cannot carry every character: such outlets write references.
        data = doc.encode(encoding, "xmlcharrefreplace")
        (docroot / path.lstrip("/")).write_bytes(data)
        paths.append(path)
    return paths


def nginx_config(prefix: Path, docroot: Path, port: int, *, workers: int = 1) -> str:
    """A self-contained nginx.conf: loopback only, logs and temp files under ``prefix``."""
    temp = prefix / "temp"
    return f"""
worker_processes {workers};
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    types {{ application/rss+xml xml; }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    etag on;
    gzip on;
    gzip_comp_level 5;
    gzip_min_length 256;
    gzip_types application/rss+xml application/atom+xml application/xml text/xml;
    server {{
        listen 127.0.0.1:{port};
        root {docroot};
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nginx:
    """A private nginx serving ``docroot``; use as a context manager."""

    def __init__(self, prefix: Path, docroot: Path, *, workers: int = 1) -> None:
        self.prefix = prefix
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (prefix / "temp").mkdir(parents=True, exist_ok=True)
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(nginx_config(prefix, docroot, self.port, workers=workers))
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            # The benchmarks serve their corpus as outlets do; a fresh machine has no nginx.
            raise SystemExit(
                "nginx is not installed; the ingest benchmarks serve their corpus with it "
                "(Debian: apt-get install nginx-light)"
            )
        self._proc = subprocess.Popen(
            [
                binary,
                "-p",
                str(self.prefix),
                "-c",
                str(self.conf),
                "-e",
                str(self.prefix / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/", timeout=1)  # noqa: S310 - loopback
                break
            except urllib.error.HTTPError:
                break  # 403/404 on "/": it is up
            except OSError:
                if self._proc.poll() is not None:
                    err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                    raise RuntimeError(f"nginx did not start: {err}") from None
                time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
