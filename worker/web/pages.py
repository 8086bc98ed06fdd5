"""The dashboard: server-rendered pages, no script, behind a login when a token is set.

Pages call the same use cases as the API and are rendered from ``templates/`` with
autoescaping on: every value from a feed (titles, names, evidence) is escaped, and links
go through the digests' :func:`feeds.digest.sanitize.safe_link` (http and https only).

Unsubscribe lives here too (RFC 8058): ``POST /unsubscribe/TOKEN`` with the body
``List-Unsubscribe=One-Click`` acts at once; ``GET`` only shows a page with a button,
because mail scanners follow links.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from feeds.digest.sanitize import plain_text, safe_link
from feeds.errors import ConfigError, InvalidInput, NotFound
from feeds.reports import ArticleFilter
from feeds.usecases import feeds as feed_list
from feeds.usecases import insights
from feeds.usecases.stories import story_detail
from worker.web.charts import sentiment_chart, volume_chart
from worker.web.context import MAX_ID, WebContext, plain, require_login, web_context
from worker.web.security import SESSION_COOKIE, SESSION_SECONDS, make_session, token_ok

__all__ = ["error_page", "login_url", "router"]

router = APIRouter(include_in_schema=False)
Ctx = Annotated[WebContext, Depends(web_context)]
Login = [Depends(require_login)]

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y %H:%M UTC") if value else "never"


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y") if value else ""


_env.filters.update(
    when=_when,
    day=_day,
    signed=lambda v: "" if v is None else f"{v:+.2f}",
    pct=lambda v: f"{100 * v:.0f}%",
    text=plain_text,
    link=safe_link,
    quote=lambda v: quote(str(v), safe=""),
)


def _render(request: Request, name: str, code: int = 200, **values: Any) -> HTMLResponse:
    ctx = web_context(request)
    html = _env.get_template(name).render(
        request_path=request.url.path, logged_in=ctx.token is not None, **values
    )
    return HTMLResponse(html, status_code=code)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return _render(request, "error.html.j2", status, status=status, message=message)


def login_url(target: str) -> str:
    return f"/login?next={quote(target, safe='')}"


def _local(target: str | None) -> str:
    """Only a path on this server may be a redirect target (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


async def _form(request: Request) -> dict[str, str]:
    """A form's text fields, urlencoded or multipart (RFC 8058 says one-click POSTs SHOULD
    be multipart/form-data); a body that is neither, or malformed, has no fields."""
    try:
        form = await request.form(max_files=0, max_fields=20)
    except (MultiPartException, HTTPException, ValueError):
        return {}
    return {key: value for key, value in form.items() if isinstance(value, str)}


# ------------------------------------------------------------------ login


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _render(request, "login.html.j2", target=_local(next), failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    ctx = web_context(request)
    form = await _form(request)
    target = _local(form.get("next"))
    if ctx.token is None:
        return RedirectResponse(target, status_code=303)
    if not token_ok(ctx.token, form.get("token", "").strip()):
        return _render(request, "login.html.j2", 401, target=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        make_session(ctx.token),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------ pages


@router.get("/", dependencies=Login)
def overview_page(
    request: Request, ctx: Ctx, days: Annotated[float, Query(gt=0, le=90)] = 7
) -> Response:
    view = insights.overview(ctx.store, ctx.now(), days=days)
    return _render(
        request,
        "overview.html.j2",
        view=view,
        days=days,
        hourly_chart=volume_chart(view.volume, hourly=True, title="Articles per hour, last 2 days"),
        daily_chart=volume_chart(view.daily, title=f"Articles per day, last {days:g} days"),
    )


@router.get("/stories/{story_id}", dependencies=Login)
def story_page(
    request: Request, ctx: Ctx, story_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> Response:
    story = story_detail(ctx.store, story_id)
    evidence = insights.story_evidence(ctx.store, story_id)
    return _render(request, "story.html.j2", story=story, evidence=evidence)


@router.get("/actors", dependencies=Login)
def actors_page(
    request: Request, ctx: Ctx, days: Annotated[float, Query(gt=0, le=366)] = 7
) -> Response:
    found = insights.actors(ctx.store, ctx.now(), days=days, limit=100, watched=ctx.watched_names())
    return _render(request, "actors.html.j2", actors=found, days=days)


@router.get("/actors/{name:path}", dependencies=Login)
def actor_page(
    request: Request,
    ctx: Ctx,
    name: str,
    days: Annotated[float, Query(gt=0, le=366)] = 90,
    bucket: str = "day",
) -> Response:
    report = insights.actor_report(
        ctx.store,
        plain(name) or "",
        ctx.now(),
        days=days,
        bucket=insights.check_bucket(bucket, days),
    )
    chart = sentiment_chart(
        report.series,
        hourly=bucket == "hour",
        title=f"{name}: articles and mean sentiment per {bucket}, last {days:g} days",
    )
    return _render(request, "actor.html.j2", report=report, chart=chart, days=days)


@router.get("/topics", dependencies=Login)
def topics_page(
    request: Request, ctx: Ctx, days: Annotated[float, Query(gt=0, le=366)] = 7
) -> Response:
    found = insights.topics(ctx.store, ctx.now(), days=days)
    return _render(request, "topics.html.j2", topics=found, days=days)


@router.get("/topics/{code}", dependencies=Login)
def topic_page(
    request: Request, ctx: Ctx, code: str, days: Annotated[float, Query(gt=0, le=366)] = 30
) -> Response:
    report = insights.topic_report(ctx.store, plain(code) or "", ctx.now(), days=days)
    chart = volume_chart(report.series, title=f"{report.label}: articles per day")
    return _render(request, "topic.html.j2", report=report, chart=chart, days=days)


@router.get("/search", dependencies=Login)
def search_page(
    request: Request,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=500)] = "",
    days: Annotated[float, Query(gt=0, le=366)] = 30,
    cursor: str | None = None,
) -> Response:
    page = None
    problem = None
    if q.strip():
        since, _ = insights.window(ctx.now(), days)
        try:
            page = insights.list_articles(
                ctx.store, ArticleFilter(since=since), query=plain(q), cursor=cursor, limit=50
            )
        except InvalidInput as exc:
            problem = str(exc)
    return _render(request, "search.html.j2", q=q, days=days, page=page, problem=problem)


@router.get("/feeds", dependencies=Login)
def feeds_page(request: Request, ctx: Ctx) -> Response:
    return _render(request, "feeds.html.j2", feeds=feed_list.list_feeds(ctx.store), now=ctx.now())


# ------------------------------------------------------------------ unsubscribe (open)


@router.get("/unsubscribe/{token}")
def unsubscribe_confirm(request: Request, token: str) -> Response:
    """Shows a confirm button; changes nothing (mail scanners follow links)."""
    ctx = web_context(request)
    try:
        _, recipient = ctx.digests.read_unsubscribe_token(token)
    except InvalidInput as exc:
        return _render(request, "unsubscribe.html.j2", 400, state="bad", message=str(exc))
    except ConfigError:
        return _render(request, "unsubscribe.html.j2", 503, state="off", message="")
    return _render(request, "unsubscribe.html.j2", state="confirm", token=token, who=recipient)


@router.post("/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058 one-click: the body ``List-Unsubscribe=One-Click`` unsubscribes at once.
    Idempotent; a bad or forged token gets 400 and changes nothing."""
    ctx = web_context(request)
    form = await _form(request)
    if form.get("List-Unsubscribe") != "One-Click":
        return _render(
            request,
            "unsubscribe.html.j2",
            400,
            state="bad",
            message="expected the body List-Unsubscribe=One-Click (RFC 8058)",
        )
    try:
        result = ctx.digests.unsubscribe_token(token)
    except InvalidInput as exc:
        return _render(request, "unsubscribe.html.j2", 400, state="bad", message=str(exc))
    except NotFound:
        # The subscription was deleted: whoever asked is not subscribed, which they wanted.
        return _render(request, "unsubscribe.html.j2", state="gone", message="")
    except ConfigError:
        return _render(request, "unsubscribe.html.j2", 503, state="off", message="")
    return _render(request, "unsubscribe.html.j2", state="done", result=result)
