"""What every request handler gets: the store, the clock, the settings and the guards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException, Request

from feeds.errors import InvalidInput
from feeds.models import Actor
from feeds.ports import Clock, Store
from feeds.usecases.actors import watchlist
from feeds.usecases.deliver import DigestService
from worker.web.security import SESSION_COOKIE, bearer_ok, session_ok

__all__ = [
    "MAX_ID",
    "LoginRequired",
    "WebContext",
    "plain",
    "require_login",
    "require_token",
    "web_context",
]

MAX_ID = 2**31 - 1  # ids are INTEGER columns (PostgreSQL: 32 bits)


def plain(value: str | None) -> str | None:
    """A text parameter as given, refused when it holds a NUL (PostgreSQL text cannot,
    and no name, code or query of ours does)."""
    if value is not None and "\x00" in value:
        raise InvalidInput("parameters cannot contain NUL characters")
    return value


@dataclass(frozen=True)
class WebContext:
    store: Store
    clock: Clock
    token: str | None  # None: no authentication (loopback only, see security.check_bind)
    seed_actors: tuple[Actor, ...]
    digests: DigestService

    def now(self) -> datetime:
        return self.clock.now()

    def watched_names(self) -> tuple[str, ...]:
        listed = watchlist(self.store, self.seed_actors)
        return tuple(entry.actor.name for entry in listed.actors)


class LoginRequired(Exception):
    """A dashboard page asked for without a valid session: answered with the login form."""


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def require_token(request: Request) -> None:
    """The API's guard: a bearer token, or 401 with a ``WWW-Authenticate`` challenge."""
    token = web_context(request).token
    if token is None or bearer_ok(token, request.headers.get("authorization")):
        return
    raise HTTPException(
        status_code=401,
        detail="send the token as `Authorization: Bearer NEWSMON_WEB_TOKEN`",
        headers={"WWW-Authenticate": 'Bearer realm="newsmon"'},
    )


def require_login(request: Request) -> None:
    """The dashboard's guard: a valid session cookie (or no token configured)."""
    token = web_context(request).token
    if token is None or session_ok(token, request.cookies.get(SESSION_COOKIE)):
        return
    raise LoginRequired()
