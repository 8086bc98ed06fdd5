"""A feed server of our own that misbehaves on purpose, on loopback, for tests and benchmarks.

Each path is one behaviour seen in the wild (slow drip, endless body, gzip bomb, entity bomb,
redirect loop, 429/503 with Retry-After, flapping 500s, wrong or missing encodings, HTML
instead of a feed, binary garbage, 410 Gone, permanent moves, JSON Feed). The server logs
every request and tracks, per host it is bound to, how many requests were in flight at once,
so a test can prove from the server's side that a limit held or that nothing reached it.
Linux routes all of 127.0.0.0/8 to loopback, so servers bound to 127.0.0.2, 127.0.0.3 …
are different hosts for the fetcher.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

Handler = BaseHTTPRequestHandler


def rss_items(prefix: str, count: int, *, summary: str | None = None, base: str = "") -> bytes:
    items = "".join(
        f"<item><title>{escape(prefix)} story {n}</title>"
        f"<link>{base or 'https://news.example'}/{prefix}/{n}</link>"
        f"<guid>{escape(prefix)}-{n}</guid>"
        f"<description>{escape(summary or f'Story {n} of {prefix}: the council met.')}"
        "</description></item>"
        for n in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(prefix)}</title><link>https://news.example/</link>"
        f"{items}</channel></rss>"
    ).encode()


ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + ']><rss version="2.0"><channel><title>&i;</title>'
    + "<item><title>&i;</title><description>&i;&i;&i;</description></item>"
    + "</channel></rss>"
).encode()

GZIP_BOMB = gzip.compress(b"<" * (16 * 1024 * 1024), compresslevel=9)  # 16 MiB decoded

LATIN1_FEED = (
    '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>Caf\xe9</title>'
    "<item><title>Z\xfcrich d\xe9cide</title><guid>l1</guid><description>Pr\xe8s</description>"
    "</item></channel></rss>"
).encode("latin-1")

# UTF-8 bytes, but the header claims windows-1252 and the XML declares nothing.
MISLABELLED_FEED = (
    '<rss version="2.0"><channel><title>Köln</title><item><title>Straße gesperrt</title>'
    "<guid>m1</guid><description>Ärger</description></item></channel></rss>"
).encode()

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON outlet",
        "home_page_url": "https://json.example/",
        "items": [
            {
                "id": "j1",
                "url": "https://json.example/1",
                "title": "Harbour reopens",
                "content_html": "<p>The harbour reopened.</p>",
                "date_published": "2026-11-20T10:00:00Z",
            }
        ],
    }
).encode()

HTML_PAGE = (
    b"<!doctype html><html><head><title>Just a page</title></head>"
    b"<body><h1>Welcome</h1><p>No feed here.</p></body></html>"
)


@dataclass
class Logged:
    host: str
    path: str
    headers: dict[str, str]


@dataclass
class State:
    log: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    starts: dict[str, list[float]] = field(default_factory=dict)
    counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)  # extra paths: served as RSS
    pages: dict[str, bytes] = field(default_factory=dict)  # extra paths: served as HTML
    delay: float = 0.0  # seconds every response waits (benchmarks)

    def requests_to(self, path: str) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if r.path == path]

    def nth(self, path: str) -> int:
        with self.lock:
            return next(self.counters.setdefault(path, itertools.count()))


def send(h: Handler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    if "Content-Length" not in (headers or {}):
        h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def _ok(h: Handler, s: State) -> None:
    send(h, 200, rss_items("ok", 3), RSS)


def _drip(h: Handler, s: State) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "1000000")
    h.end_headers()
    for _ in range(10_000):
        if s.stop.wait(0.1):
            return
        h.wfile.write(b" ")
        h.wfile.flush()


def _endless(h: Handler, s: State) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"<item>" + b"x" * 65536 + b"</item>"
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while not s.stop.is_set():
        h.wfile.write(frame)


def _gzip_bomb(h: Handler, s: State) -> None:
    send(h, 200, GZIP_BOMB, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})


def _entity_bomb(h: Handler, s: State) -> None:
    send(h, 200, ENTITY_BOMB, {"Content-Type": "application/rss+xml"})


def _loop_a(h: Handler, s: State) -> None:
    send(h, 302, headers={"Location": "/loop-b"})


def _loop_b(h: Handler, s: State) -> None:
    send(h, 301, headers={"Location": "/loop-a"})


def _too_many(h: Handler, s: State) -> None:
    send(h, 429, b"slow down", {"Retry-After": "7200"})


def _unavailable(h: Handler, s: State) -> None:
    send(h, 503, b"maintenance", {"Retry-After": "600"})


def _flap(h: Handler, s: State) -> None:
    if s.nth("/flap") % 2 == 0:
        send(h, 500, b"oops")
    else:
        send(h, 200, rss_items("flap", 2), RSS)


def _latin1(h: Handler, s: State) -> None:
    send(h, 200, LATIN1_FEED, {"Content-Type": "application/rss+xml"})


def _mislabelled(h: Handler, s: State) -> None:
    send(h, 200, MISLABELLED_FEED, {"Content-Type": "text/xml; charset=windows-1252"})


def _no_content_type(h: Handler, s: State) -> None:
    send(h, 200, rss_items("bare", 2))


def _html(h: Handler, s: State) -> None:
    send(h, 200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"})


def _garbage(h: Handler, s: State) -> None:
    send(h, 200, random.Random(7).randbytes(4096), {"Content-Type": "application/octet-stream"})


def _gone(h: Handler, s: State) -> None:
    send(h, 410, b"gone")


def _moved(h: Handler, s: State) -> None:
    send(h, 301, headers={"Location": "/moved-here"})


def _moved_here(h: Handler, s: State) -> None:
    send(h, 200, rss_items("moved", 2), RSS)


def _json(h: Handler, s: State) -> None:
    send(h, 200, JSON_FEED, {"Content-Type": "application/feed+json"})


def _cached(h: Handler, s: State) -> None:
    send(h, 200, rss_items("cached", 2), {**RSS, "Cache-Control": "public, max-age=7200"})


def _redirect_to(h: Handler, s: State) -> None:
    target = h.path.split("?to=", 1)[1] if "?to=" in h.path else "/ok"
    send(h, 302, headers={"Location": target})


ROUTES: dict[str, Callable[[Handler, State], None]] = {
    "/redirect": _redirect_to,
    "/ok": _ok,
    "/drip": _drip,
    "/endless": _endless,
    "/gzip-bomb": _gzip_bomb,
    "/entity-bomb": _entity_bomb,
    "/loop-a": _loop_a,
    "/loop-b": _loop_b,
    "/429": _too_many,
    "/503": _unavailable,
    "/flap": _flap,
    "/latin1": _latin1,
    "/mislabelled": _mislabelled,
    "/no-content-type": _no_content_type,
    "/html": _html,
    "/garbage": _garbage,
    "/gone": _gone,
    "/moved": _moved,
    "/moved-here": _moved_here,
    "/json": _json,
    "/cached": _cached,
}


class HostileServer:
    """One server on ``host`` (an ephemeral port), sharing ``state`` with others if given."""

    def __init__(self, host: str = "127.0.0.1", state: State | None = None) -> None:
        self.state = state or State()
        self.host = host
        server_state = self.state
        bound_host = host

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                st = server_state
                path = self.path.split("?", 1)[0]
                with st.lock:
                    st.log.append(
                        Logged(bound_host, path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    now = st.in_flight.get(bound_host, 0) + 1
                    st.in_flight[bound_host] = now
                    st.max_in_flight[bound_host] = max(st.max_in_flight.get(bound_host, 0), now)
                    st.starts.setdefault(bound_host, []).append(time.monotonic())
                try:
                    if st.delay:
                        st.stop.wait(st.delay)
                    route = ROUTES.get(path)
                    if route is not None:
                        route(self, st)
                    elif path in st.documents:
                        send(self, 200, st.documents[path], RSS)
                    elif path in st.pages:
                        send(self, 200, st.pages[path], {"Content-Type": "text/html"})
                    else:
                        send(self, 404, b"not found")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on purpose (deadline, size cap)
                finally:
                    with st.lock:
                        st.in_flight[bound_host] -= 1

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._server = QuietServer((host, 0), RequestHandler)
        self.port = self._server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.state.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
