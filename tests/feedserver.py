"""A real HTTP server on 127.0.0.1 that serves generated feeds, for tests.

It honours conditional requests the way publishers do (strong ETag and Last-Modified,
304 without a body) and logs every request with its validators, so a test can prove from
the server's own log that a second pass was conditional.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import pytest


@dataclass
class Logged:
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    at: float = field(default_factory=time.monotonic)  # when the request arrived


@dataclass
class FeedServer:
    documents: dict[str, bytes] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)
    last_modified: str = format_datetime(datetime(2026, 11, 26, 12, 0, tzinfo=UTC), usegmt=True)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, body: bytes | str) -> str:
        self.documents[path] = body.encode() if isinstance(body, str) else body
        return self.url(path)


def _handler(state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            body = state.documents.get(self.path)
            etag = '"' + hashlib.sha1(body).hexdigest() + '"' if body is not None else None
            if body is None:
                status = 404
            elif inm == etag or (inm is None and ims == state.last_modified):
                status = 304
            else:
                status = 200
            # Log before answering: once the client has the response, the log shows it.
            state.log.append(Logged(self.path, status, inm, ims))
            self.send_response(status)
            if status == 404:
                self.send_header("Content-Length", "0")
            elif etag is not None:
                self.send_header("ETag", etag)
            if status == 200 and body is not None:
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Last-Modified", state.last_modified)
            self.end_headers()
            if status == 200 and body is not None:
                self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client killed mid-request (the fault suite does that on purpose) resets its
        # connection; that is expected, not worth a traceback. Anything else is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class RunningServer:
    def __init__(self) -> None:
        self.state = FeedServer()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self.state.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def rss(title: str, items: list[dict[str, str]]) -> str:
    """An RSS 2.0 document; each item has title, link, guid, description, pubDate."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title>",
        f"<link>https://{title.lower().replace(' ', '-')}.example/</link>",
        "<description>test feed</description>",
    ]
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate"):
            if key in item:
                parts.append(f"<{key}>{escape(item[key])}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


def pub_date(days_ago: float) -> str:
    return format_datetime(
        datetime(2026, 11, 26, 12, 0, tzinfo=UTC) - timedelta(days=days_ago), usegmt=True
    )


@pytest.fixture
def server() -> Iterator[RunningServer]:
    """A loopback feed server for one test."""
    running = RunningServer()
    yield running
    running.close()
