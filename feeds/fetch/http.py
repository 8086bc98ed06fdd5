"""The HTTP adapter behind the :class:`feeds.ports.Fetcher` port.

Feeds are untrusted input served by machines we do not control, so the fetcher is written
to bound every resource a hostile or broken server could make us spend:

* **Time.** httpx's connect and read timeouts only bound *each* socket operation; a server
  that drips one byte every half second never trips them. Each fetch therefore has an
  overall wall-clock ``deadline``: the body is streamed and the elapsed time checked after
  every chunk. Each hop's socket timeouts are also capped by the time left when it is sent,
  so a server that stalls completely is cut off at the deadline too; the worst overshoot is
  one read that began just before the deadline and then waits out its (capped) timeout.
  Name resolution for the address check is the system resolver's and is not bounded here.
* **Memory.** ``max_bytes`` is counted on the *decoded* body while it streams, because a
  few kilobytes of gzip can inflate to gigabytes. A declared ``Content-Length`` beyond the
  cap fails before any body is read.
* **Reach.** Feed URLs come from users and from OPML files, and redirects come from the
  servers themselves; either could point the poller at a metadata service or an admin page
  inside the network. Unless ``allow_private_networks`` is set, the check happens *at
  connect time*, inside the connection pool's network backend: the host is resolved once,
  every address it resolves to is checked (a single non-public address blocks the fetch),
  and the socket is then opened to one of those checked addresses, never to the name. So
  the first request, every redirect hop and a resolver that answers differently a moment
  later (DNS rebinding) are all covered, and a refused connection never sends a byte.
  ``allowed_networks`` lists exceptions (for example an intranet feed server). A
  ``transport`` injected for tests bypasses the backend and therefore the check.
* **Loops.** Redirects are followed by hand, up to ``max_redirects``; a redirect back to a
  URL already visited ends the fetch at once with :class:`RedirectLoop`. A chain made only
  of permanent redirects (301/308) is reported as such (``FetchResult.permanent_redirect``)
  so the scheduler can adopt the new address once it has been seen consistently.
* **State.** One ``httpx.Client`` per fetcher is shared by the poller's threads (httpx
  clients are thread-safe); cookies are refused so that one feed's responses cannot change
  how another is fetched, and the environment (proxy variables, netrc) is ignored because
  the core reads no environment; the composition root passes everything explicitly.

Every failure leaves as one of the :mod:`feeds.errors` ``FetchError`` classes with a
one-line message naming the URL; no httpx exception escapes.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self

import httpcore
import httpx

from feeds.errors import (
    BlockedAddress,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RedirectLoop,
    UnknownHost,
)
from feeds.models import FetchResult

__all__ = [
    "DEFAULT_USER_AGENT",
    "HttpFetcher",
    "Resolver",
    "check_public_host",
    "parse_max_age",
    "parse_retry_after",
]

# host, port -> the IP address literals to try, in order.
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_USER_AGENT = "newsmon/0.1 (+https://example.invalid/newsmon)"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.1"
)
# How the C library words a failed lookup, as wrapped by httpx's ConnectError.
# getaddrinfo's "this name does not exist" answers; a temporary resolver failure
# (EAI_AGAIN) is not among them.
_NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)
_DNS_HINTS = ("name or service not known", "nodename nor servname", "name resolution")
# NAT64 well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to, if any: those must be judged as IPv4."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def _is_public(addr: _IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return _is_public(inner)
    # ``is_global`` is False for private, loopback, link-local, reserved, unspecified,
    # shared (100.64/10) and documentation ranges; it is True for multicast, which is no
    # place to fetch a feed from either.
    return addr.is_global and not addr.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    """The C library's answer for ``host``: address literals, IPv6 zones stripped."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        message = f"cannot resolve host {host}: {_one_line(exc)}"
        if isinstance(exc, socket.gaierror) and exc.errno in _NO_SUCH_NAME:
            raise UnknownHost(message) from exc
        raise FetchError(message) from exc
    # IPv6 link-local answers may carry a zone ("fe80::1%eth0"); the zone is not part of
    # the address for classification.
    found = [str(sockaddr[0]).split("%", 1)[0] for *_rest, sockaddr in infos]
    if not found:
        raise UnknownHost(f"cannot resolve host {host}: no addresses")
    return list(dict.fromkeys(found))


def _parse_networks(networks: Iterable[str]) -> tuple[_Network, ...]:
    parsed: list[_Network] = []
    for net in networks:
        try:
            parsed.append(ipaddress.ip_network(net.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {net!r}") from exc
    return tuple(parsed)


def _check_addresses(
    host: str,
    literals: Sequence[str],
    allowed: Sequence[_Network] = (),
) -> None:
    for literal in literals:
        try:
            addr = ipaddress.ip_address(literal)
        except ValueError as exc:
            raise BlockedAddress(f"{host} resolves to an unrecognised address {literal}") from exc
        if _is_public(addr) or any(addr in net for net in allowed):
            continue
        raise BlockedAddress(
            f"{host} resolves to non-public address {addr}; refusing to fetch "
            "(private networks are not allowed: set NEWSMON_ALLOW_PRIVATE_NETWORKS=true, "
            "or add the network to NEWSMON_ALLOWED_NETWORKS)"
        )


def check_public_host(host: str, port: int) -> None:
    """Raise :class:`BlockedAddress` unless every address ``host`` resolves to is public.

    Raises :class:`FetchError` when the name does not resolve.
    """
    _check_addresses(host, system_resolver(host, port))


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend with the address check at connect time.

    The name is resolved here, once; the addresses are checked; the socket is opened to an
    address literal, so nothing resolves the name a second time between check and connect.
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        allowed_networks: Sequence[_Network],
        resolver: Resolver,
    ) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_all = allow_private_networks
        self._allowed = tuple(allowed_networks)
        self._resolve = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = list(self._resolve(host, port))
        if not addresses:
            raise UnknownHost(f"cannot resolve host {host}: no addresses")
        if not self._allow_all:
            _check_addresses(host, addresses, self._allowed)
        *others, last = addresses
        for address in others:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # try the next address, like socket.create_connection
        return self._inner.connect_tcp(last, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport, its connection pool built on :class:`_GuardedBackend`."""

    def __init__(self, backend: _GuardedBackend) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` that a ``Retry-After`` header asks for (delta or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    when = _http_date(text)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def parse_max_age(
    cache_control: str | None, expires: str | None, date: str | None, now: datetime
) -> float | None:
    """Freshness lifetime in seconds: ``max-age`` (``no-cache``/``no-store`` give 0), else
    ``Expires`` minus ``Date`` (or now); None when the response says nothing."""
    if cache_control:
        directives = [d.strip().lower() for d in cache_control.split(",")]
        if "no-cache" in directives or "no-store" in directives:
            return 0.0
        for directive in directives:
            name, _, arg = directive.partition("=")
            if name.strip() == "max-age" and arg.strip().strip('"').isdigit():
                return float(int(arg.strip().strip('"')))
    expires_at = _http_date(expires)
    if expires_at is None:
        return None
    base = _http_date(date) or now
    return max(0.0, (expires_at - base).total_seconds())


def _close_quietly(response: httpx.Response) -> None:
    # Closing only returns the connection to the pool (or drops it); a failure there says
    # nothing about the fetch, whose result or error is already decided.
    try:
        response.close()
    except httpx.TransportError:
        pass


def _max_age(response: httpx.Response) -> float | None:
    headers = response.headers
    return parse_max_age(
        headers.get("cache-control"),
        headers.get("expires"),
        headers.get("date"),
        datetime.now(UTC),
    )


def _reason(response: httpx.Response) -> str:
    if response.reason_phrase:
        return response.reason_phrase
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return "Unknown Status"


class HttpFetcher:
    """Conditional GETs over one shared ``httpx.Client``; see the module docstring."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        deadline: float = 60.0,
        max_bytes: int = 10 * 1024 * 1024,
        user_agent: str = DEFAULT_USER_AGENT,
        allow_private_networks: bool = False,
        max_redirects: int = 5,
        transport: httpx.BaseTransport | None = None,
        allowed_networks: Iterable[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0 or deadline <= 0:
            raise ValueError("timeouts and deadline must be positive")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.allow_private_networks = allow_private_networks
        self.max_redirects = max_redirects
        if transport is None:
            transport = _GuardedTransport(
                _GuardedBackend(
                    allow_private_networks=allow_private_networks,
                    allowed_networks=_parse_networks(allowed_networks),
                    resolver=resolver or system_resolver,
                )
            )
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,  # followed by hand so each hop is checked
            trust_env=False,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={
                "User-Agent": user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": "gzip",
            },
        )

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ fetching

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``, conditionally when validators are given. Raises ``FetchError``."""
        started = time.monotonic()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        current = self._parse_url(url)
        visited = [str(current)]
        permanent = True
        while True:
            response = self._send(current, headers, started)
            try:
                status = response.status_code
                if status in _REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            f"HTTP {status} redirect without a Location from {current}"
                        )
                    permanent = permanent and status in _PERMANENT_REDIRECTS
                    current = self._parse_url(self._join(current, location))
                    if str(current) in visited:
                        raise RedirectLoop(
                            f"redirect loop fetching {url}: {' -> '.join(visited)} -> {current}"
                        )
                    visited.append(str(current))
                    if len(visited) - 1 > self.max_redirects:
                        raise FetchError(
                            f"too many redirects (more than {self.max_redirects}) fetching {url}"
                        )
                    continue
                if status == 304:
                    return FetchResult(
                        status="not_modified",
                        url=str(current),
                        http_status=304,
                        # A 304 may omit the validators; the ones we sent still hold.
                        etag=response.headers.get("etag") or etag,
                        last_modified=response.headers.get("last-modified") or last_modified,
                        permanent_redirect=permanent and len(visited) > 1,
                        max_age=_max_age(response),
                    )
                if status >= 300 or status < 200:
                    raise HTTPStatusError(
                        status,
                        f"HTTP {status} {_reason(response)} from {current}",
                        retry_after=parse_retry_after(
                            response.headers.get("retry-after"), datetime.now(UTC)
                        ),
                    )
                body = self._read_body(response, current, started)
                return FetchResult(
                    status="ok",
                    url=str(current),
                    http_status=status,
                    content=body,
                    content_type=response.headers.get("content-type"),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    permanent_redirect=permanent and len(visited) > 1,
                    max_age=_max_age(response),
                )
            finally:
                _close_quietly(response)

    # ------------------------------------------------------------------ helpers

    def _parse_url(self, raw: str) -> httpx.URL:
        try:
            parsed = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise FetchError(f"invalid URL {raw!r}: {_one_line(exc)}") from exc
        if parsed.scheme not in _ALLOWED_SCHEMES:
            raise FetchError(
                f"unsupported URL scheme {parsed.scheme or '(none)'!r} in {raw!r}; "
                "only http and https are fetched"
            )
        if not parsed.host:
            raise FetchError(f"URL without a host: {raw!r}")
        return parsed

    @staticmethod
    def _join(base: httpx.URL, location: str) -> str:
        try:
            return str(base.join(location))
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchError(f"invalid redirect Location {location!r} from {base}") from exc

    def _remaining(self, started: float, url: httpx.URL) -> float:
        remaining = self.deadline - (time.monotonic() - started)
        if remaining <= 0:
            raise FetchTimeout(f"deadline of {self.deadline:g}s passed fetching {url}")
        return remaining

    def _send(self, url: httpx.URL, headers: dict[str, str], started: float) -> httpx.Response:
        # The address check happens when the pool opens a connection (_GuardedBackend),
        # which sees the ASCII (punycode) host name httpx puts on the wire.
        remaining = self._remaining(started, url)
        timeout = httpx.Timeout(
            connect=min(self.connect_timeout, remaining),
            read=min(self.read_timeout, remaining),
            write=min(self.read_timeout, remaining),
            pool=min(self.connect_timeout, remaining),
        )
        with self._translate_errors(url):
            request = self._client.build_request("GET", url, headers=headers, timeout=timeout)
            return self._client.send(request, stream=True)

    def _read_body(self, response: httpx.Response, url: httpx.URL, started: float) -> bytes:
        declared = response.headers.get("content-length")
        encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
        if declared and declared.isdigit() and not encoded and int(declared) > self.max_bytes:
            raise BodyTooLarge(
                f"body of {int(declared)} bytes from {url} exceeds the {self.max_bytes}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        with self._translate_errors(url):
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise BodyTooLarge(
                        f"body from {url} exceeds the {self.max_bytes}-byte cap "
                        "(after decompression)"
                    )
                self._remaining(started, url)
                chunks.append(chunk)
        return b"".join(chunks)

    def _translate_errors(self, url: httpx.URL) -> _ErrorTranslator:
        return _ErrorTranslator(str(url))


class _ErrorTranslator:
    """Context manager turning httpx exceptions into the project's ``FetchError`` tree."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Never swallows: an exception either passes through untouched or is replaced.
        if exc is None or isinstance(exc, FetchError):
            return
        translated = _translate(exc, self.url)
        if translated is not None:
            raise translated from exc


def _translate(exc: BaseException, url: str) -> FetchError | None:
    detail = _one_line(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return FetchTimeout(f"timed out connecting to {url}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"timed out waiting for data from {url}")
    if isinstance(exc, httpx.ConnectError):
        if "ssl" in detail.lower() or "certificate" in detail.lower():
            return FetchError(f"TLS error connecting to {url}: {detail}")
        if any(hint in detail.lower() for hint in _DNS_HINTS):
            return FetchError(f"cannot resolve host for {url}: {detail}")
        return FetchError(f"cannot connect to {url}: {detail}")
    if isinstance(exc, httpx.DecodingError):
        return FetchError(f"cannot decode the body from {url}: {detail}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"protocol error from {url}: {detail}")
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL | httpx.StreamError):
        return FetchError(f"request to {url} failed: {detail}")
    return None
