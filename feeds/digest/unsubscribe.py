"""Unsubscribe tokens and the RFC 2369 / RFC 8058 headers that carry them.

A token names one recipient of one subscription and is signed with HMAC-SHA256 under a
secret from the settings, so nobody can unsubscribe someone else by guessing::

    v1.<subscription id>.<base64url(address)>.<base64url(first 16 bytes of the MAC)>

Design decisions:

* The token is self-contained: checking it needs the secret only, no lookup table, and it
  stays valid as long as the secret does (rotate the secret to revoke every token at once).
* The address is inside the token (base64, not encrypted). Whoever holds the token already
  holds the email it came in; keeping it readable lets an admin see whom a token concerns.
* A missing, short or placeholder secret is refused when a digest is *sent*
  (:func:`check_secret`); previews work without one and show a clearly fake link.
* ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` is only added when there is an
  ``https`` URL, as RFC 8058 requires; a ``mailto:`` alone gets the plain RFC 2369 header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from feeds.errors import ConfigError, InvalidInput

__all__ = [
    "MIN_SECRET_LENGTH",
    "UnsubscribeConfig",
    "check_secret",
    "make_token",
    "read_token",
    "token_parts",
    "unsubscribe_headers",
    "unsubscribe_url",
]

MIN_SECRET_LENGTH = 16
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "placeholder",
        "unsubscribe-secret",
        "xxxxxxxxxxxxxxxx",
        "0000000000000000",
        "please-change-me",
        "changethis",
    }
)
_MAC_BYTES = 16
# The largest id the database's INTEGER columns hold; a bigger one cannot be ours.
MAX_SUBSCRIPTION_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class UnsubscribeConfig:
    """Where unsubscribe requests go. ``public_url`` is the https base of the web endpoint
    (``<public_url>/unsubscribe/<token>``); ``mailto`` an address that accepts requests."""

    secret: str
    public_url: str | None = None
    mailto: str | None = None


def check_secret(secret: str | None) -> str:
    """The secret, or :class:`ConfigError` when it is empty, short or a placeholder."""
    value = (secret or "").strip()
    if not value:
        raise ConfigError(
            "NEWSMON_UNSUBSCRIBE_SECRET is not set; digests need it to sign unsubscribe links"
        )
    if len(value) < MIN_SECRET_LENGTH or value.casefold() in _PLACEHOLDERS or len(set(value)) < 6:
        raise ConfigError(
            "NEWSMON_UNSUBSCRIBE_SECRET looks like a placeholder; use a long random value "
            "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return value


def make_token(secret: str, subscription_id: int, recipient: str) -> str:
    """A signed token for ``recipient`` (a bare ``user@domain``) of the subscription."""
    address = _b64(recipient.encode("utf-8"))
    body = f"v1.{subscription_id}.{address}"
    return f"{body}.{_b64(_mac(secret, body))}"


def read_token(secret: str, token: str) -> tuple[int, str]:
    """``(subscription id, recipient)`` from a token, or :class:`InvalidInput`."""
    body, subscription_id, recipient, given = token_parts(token)
    if not hmac.compare_digest(given, _mac(secret, body)):
        raise InvalidInput("this unsubscribe token is not valid (wrong signature)")
    return subscription_id, recipient


def token_parts(token: str) -> tuple[str, int, str, bytes]:
    """(signed body, subscription id, recipient, MAC) of a well-formed token, unchecked;
    :class:`InvalidInput` for anything else. Needs no secret, so a malformed token is
    refused as such even where no secret is configured."""
    parts = token.strip().split(".")
    # ASCII only: str.isdigit also accepts "²" or "١", which the MAC cannot encode.
    if len(parts) != 4 or parts[0] != "v1" or not token.isascii() or not parts[1].isdigit():
        raise InvalidInput("not an unsubscribe token")
    try:
        given = _unb64(parts[3])
        recipient = _unb64(parts[2]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("not an unsubscribe token") from None
    subscription_id = int(parts[1])
    if subscription_id > MAX_SUBSCRIPTION_ID:
        raise InvalidInput("not an unsubscribe token")
    return ".".join(parts[:3]), subscription_id, recipient, given


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


def unsubscribe_headers(config: UnsubscribeConfig, token: str) -> dict[str, str]:
    """``List-Unsubscribe`` (and ``-Post`` when one-click is possible) for one recipient."""
    targets: list[str] = []
    one_click = False
    if config.public_url:
        if urlsplit(config.public_url).scheme != "https":
            raise ConfigError("NEWSMON_PUBLIC_URL must be an https:// URL (RFC 8058)")
        targets.append(f"<{unsubscribe_url(config.public_url, token)}>")
        one_click = True
    if config.mailto:
        subject = quote(f"unsubscribe {token}", safe="")
        targets.append(f"<mailto:{config.mailto}?subject={subject}>")
    if not targets:
        return {}
    headers = {"List-Unsubscribe": ", ".join(targets)}
    if one_click:
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _mac(secret: str, body: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()[
        :_MAC_BYTES
    ]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("bad base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
