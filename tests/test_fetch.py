"""HttpFetcher against a real HTTP server on 127.0.0.1 (ephemeral port, one per module)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feeds.errors import (
    BlockedAddress,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
)
from feeds.fetch.http import HttpFetcher, check_public_host

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
BOMB = gzip.compress(b"\0" * (4 * 1024 * 1024))  # ~4 KiB on the wire, 4 MiB decoded


@dataclass
class Logged:
    path: str
    headers: dict[str, str]  # names lower-cased


@dataclass
class Server:
    base: str
    log: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if r.path == path]


Route = Callable[[BaseHTTPRequestHandler, Server], None]


def _send(
    h: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    h.send_response(status)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def feed(h: BaseHTTPRequestHandler, s: Server) -> None:
    if h.headers.get("If-None-Match") == ETAG:
        _send(h, 304)  # no validators repeated: the client must keep its own
        return
    _send(
        h,
        200,
        FEED,
        {"Content-Type": "application/rss+xml", "ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )


def feed_new_etag(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 304, headers={"ETag": '"v2"'})


def gzipped(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 200, gzip.compress(FEED), {"Content-Encoding": "gzip", "Content-Type": "text/xml"})


def bomb(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 200, BOMB, {"Content-Encoding": "gzip"})


def big(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 200, b"x" * (2 * 1024 * 1024))


def missing(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 404, b"nope")


def broken(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 503, b"later")


def redirect(h: BaseHTTPRequestHandler, s: Server) -> None:
    remaining = int(h.path.rsplit("/", 1)[1])
    if remaining == 0:
        _send(h, 200, FEED, {"Content-Type": "application/rss+xml"})
    else:
        # Relative Location: the fetcher must resolve it against the current URL.
        _send(h, 302, headers={"Location": f"/redirect/{remaining - 1}"})


def to_file(h: BaseHTTPRequestHandler, s: Server) -> None:
    _send(h, 301, headers={"Location": "file:///etc/passwd"})


def drip(h: BaseHTTPRequestHandler, s: Server) -> None:
    # Headers at once, then one byte every 0.2 s: never idle long enough for a read timeout.
    h.send_response(200)
    h.send_header("Content-Length", "100000")
    h.end_headers()
    for _ in range(100):
        if s.stop.wait(0.2):
            return
        h.wfile.write(b"x")
        h.wfile.flush()


def slow_headers(h: BaseHTTPRequestHandler, s: Server) -> None:
    if not s.stop.wait(3.0):
        _send(h, 200, FEED)


ROUTES: dict[str, Route] = {
    "/feed": feed,
    "/feed-new-etag": feed_new_etag,
    "/gzip": gzipped,
    "/bomb": bomb,
    "/big": big,
    "/missing": missing,
    "/broken": broken,
    "/to-file": to_file,
    "/drip": drip,
    "/slow-headers": slow_headers,
}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    state = Server(base="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with state.lock:
                state.log.append(Logged(self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = ROUTES.get(self.path)
            if route is None and self.path.startswith("/redirect/"):
                route = redirect
            try:
                (route or missing)(self, state)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (deadline, size cap)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    with HttpFetcher(allow_private_networks=True, deadline=5.0) as f:
        yield f


# --------------------------------------------------------------------------- success paths


def test_ok_then_not_modified_with_validators(server: Server, fetcher: HttpFetcher) -> None:
    first = fetcher.fetch(server.url("/feed"))
    assert first.status == "ok"
    assert first.http_status == 200
    assert first.content == FEED
    assert first.content_type == "application/rss+xml"
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)

    second = fetcher.fetch(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.http_status == 304
    assert second.content == b""
    # The 304 repeated no validators, so the ones we sent are kept.
    assert (second.etag, second.last_modified) == (ETAG, LAST_MODIFIED)

    seen = server.requests_to("/feed")
    assert "if-none-match" not in seen[-2].headers
    assert seen[-1].headers["if-none-match"] == ETAG
    assert seen[-1].headers["if-modified-since"] == LAST_MODIFIED


def test_not_modified_takes_new_validators(server: Server, fetcher: HttpFetcher) -> None:
    result = fetcher.fetch(server.url("/feed-new-etag"), etag='"v1"', last_modified=LAST_MODIFIED)
    assert result.status == "not_modified"
    assert result.etag == '"v2"'
    assert result.last_modified == LAST_MODIFIED


def test_sends_user_agent_and_accepts_gzip(server: Server) -> None:
    with HttpFetcher(allow_private_networks=True, user_agent="probe/1.0") as f:
        result = f.fetch(server.url("/gzip"))
    assert result.content == FEED  # decoded transparently
    headers = server.requests_to("/gzip")[-1].headers
    assert headers["user-agent"] == "probe/1.0"
    assert "gzip" in headers["accept-encoding"]


def test_redirect_chain_reports_final_url(server: Server, fetcher: HttpFetcher) -> None:
    result = fetcher.fetch(server.url("/redirect/5"))  # exactly max_redirects hops
    assert result.status == "ok"
    assert result.url == server.url("/redirect/0")
    assert result.content == FEED


def test_concurrent_fetches_share_one_client(server: Server, fetcher: HttpFetcher) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: fetcher.fetch(server.url("/feed")), range(24)))
    assert [r.content for r in results] == [FEED] * 24


# --------------------------------------------------------------------------- failures


def test_404_is_http_status_error(server: Server, fetcher: HttpFetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(server.url("/missing"))
    assert info.value.status == 404
    assert str(info.value) == f"HTTP 404 Not Found from {server.url('/missing')}"


def test_5xx_is_http_status_error(server: Server, fetcher: HttpFetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(server.url("/broken"))
    assert info.value.status == 503


def test_redirect_cap(server: Server) -> None:
    with HttpFetcher(allow_private_networks=True, max_redirects=2) as f:
        before = len(server.log)
        with pytest.raises(FetchError, match="too many redirects"):
            f.fetch(server.url("/redirect/3"))
        assert len(server.log) - before == 3  # the original request and two hops


def test_redirect_to_other_scheme_is_refused(server: Server, fetcher: HttpFetcher) -> None:
    with pytest.raises(FetchError, match="scheme 'file'"):
        fetcher.fetch(server.url("/to-file"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "no-scheme"])
def test_only_http_and_https(fetcher: HttpFetcher, url: str) -> None:
    with pytest.raises(FetchError, match="scheme"):
        fetcher.fetch(url)


def test_slow_drip_hits_the_overall_deadline(server: Server) -> None:
    with HttpFetcher(allow_private_networks=True, deadline=1.0, read_timeout=5.0) as f:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="deadline"):
            f.fetch(server.url("/drip"))
        assert time.monotonic() - started < 2.0


def test_read_timeout(server: Server) -> None:
    with HttpFetcher(allow_private_networks=True, read_timeout=0.3) as f:
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            f.fetch(server.url("/slow-headers"))
        assert time.monotonic() - started < 1.5


def test_deadline_caps_socket_timeouts(server: Server) -> None:
    # The read timeout alone would wait 10 s for the headers; the deadline cuts it short.
    with HttpFetcher(allow_private_networks=True, read_timeout=10.0, deadline=0.5) as f:
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            f.fetch(server.url("/slow-headers"))
        assert time.monotonic() - started < 1.5


def test_gzip_bomb_is_capped_after_decompression(server: Server) -> None:
    assert len(BOMB) < 1024 * 1024  # small on the wire: only the decoded size trips the cap
    with HttpFetcher(allow_private_networks=True, max_bytes=1024 * 1024) as f:
        with pytest.raises(BodyTooLarge, match="after decompression"):
            f.fetch(server.url("/bomb"))


def test_declared_length_over_cap_fails_early(server: Server) -> None:
    with HttpFetcher(allow_private_networks=True, max_bytes=1024 * 1024) as f:
        with pytest.raises(BodyTooLarge, match="2097152 bytes"):
            f.fetch(server.url("/big"))


def test_connection_refused(fetcher: HttpFetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    with pytest.raises(FetchError, match="cannot connect") as info:
        fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert not isinstance(info.value, FetchTimeout)


@pytest.mark.parametrize("allow", [True, False])
def test_unresolvable_host(allow: bool) -> None:
    # ".invalid" is reserved (RFC 2606) and never resolves.
    with HttpFetcher(allow_private_networks=allow) as f:
        with pytest.raises(FetchError, match="resolve"):
            f.fetch("http://no-such-host.invalid/feed")


# --------------------------------------------------------------------------- private networks


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_address_blocked_before_connecting(server: Server, host: str) -> None:
    url = server.url("/feed").replace("127.0.0.1", host)
    before = len(server.log)
    with HttpFetcher() as f:
        with pytest.raises(BlockedAddress, match="non-public address"):
            f.fetch(url)
    assert len(server.log) == before  # the server never saw a request


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses(address: str) -> None:
    with pytest.raises(BlockedAddress):
        check_public_host(address, 80)


def test_public_address_passes() -> None:
    check_public_host("93.184.216.34", 443)  # returns without raising


# Redirect hops and DNS rebinding are checked at connect time: see tests/test_ssrf.py.
