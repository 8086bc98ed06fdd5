"""Who may see the dashboard and the API, and the headers every response carries.

* **API:** ``Authorization: Bearer <NEWSMON_WEB_TOKEN>``, compared in constant time.
* **Dashboard:** a login form takes the same token and sets a session cookie: the
  cookie holds an expiry and an HMAC of it under a key derived from the token, so it is
  ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's form sends it)
  and ``Secure`` over https. Changing the token ends every session.
* **No token set:** everything is open, and :func:`check_bind` refuses any address but
  loopback, so an unprotected server is never reachable from another machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time

from feeds.errors import ConfigError

__all__ = [
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "bearer_ok",
    "check_bind",
    "make_session",
    "session_ok",
    "token_ok",
]

SESSION_COOKIE = "newsmon_session"
SESSION_SECONDS = 12 * 3600

# No script at all, styles and images from this server only (the charts are inline SVG,
# drawn with presentation attributes, not style attributes), no framing, forms post here.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback address when no token protects the server."""
    if token:
        return
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"refusing to serve on {host} without NEWSMON_WEB_TOKEN: anyone who can reach "
            "it could read everything; set NEWSMON_WEB_TOKEN or use --host 127.0.0.1"
        )


def token_ok(token: str, given: str) -> bool:
    """``given`` is the server's token (compared in constant time)."""
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def bearer_ok(token: str, header: str | None) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.casefold() == "bearer" and token_ok(token, given.strip())


def _key(token: str) -> bytes:
    return hashlib.sha256(b"newsmon web session\x00" + token.encode()).digest()


def _mac(token: str, body: str) -> str:
    digest = hmac.new(_key(token), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_session(token: str, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    body = f"v1.{expires}"
    return f"{body}.{_mac(token, body)}"


def session_ok(token: str, value: str | None, now: float | None = None) -> bool:
    parts = (value or "").split(".")
    if len(parts) != 3 or parts[0] != "v1" or not parts[1].isdigit():
        return False
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2].encode(), _mac(token, body).encode()):
        return False
    return int(parts[1]) > (time.time() if now is None else now)
