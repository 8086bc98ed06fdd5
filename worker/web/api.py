"""``/api/v1/…``: the JSON API. Thin: parse the query, call a use case, return its JSON.

Every route needs the bearer token (see :mod:`worker.web.security`); limits and windows
are capped by the use cases (:mod:`feeds.usecases.insights`), and the database cancels
any statement past ``NEWSMON_WEB_QUERY_TIMEOUT``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from feeds.formats import insights as shapes
from feeds.formats.export import article_json, feed_json, story_json
from feeds.reports import ArticleFilter
from feeds.usecases import feeds as feed_list
from feeds.usecases import insights
from feeds.usecases.stories import largest_stories_in_full, story_detail
from feeds.when import parse_instant
from worker.web import schemas
from worker.web.context import MAX_ID, WebContext, plain, require_token, web_context

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])

Ctx = Annotated[WebContext, Depends(web_context)]
# Ids are INTEGER columns: anything larger cannot exist, and is refused before the database.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=300)]
BucketParam = Annotated[Literal["day", "hour"], Query()]
Days = Annotated[float, Query(gt=0, le=insights.MAX_DAYS, description="Window in days.")]
Limit = Annotated[int, Query(ge=1, le=insights.MAX_LIMIT)]


@router.get("/articles", response_model=schemas.ArticlePageOut)
def articles(
    ctx: Ctx,
    since: str | None = None,
    until: str | None = None,
    topic: Text = None,
    actor: Text = None,
    feed: IdFilter = None,
    story: IdFilter = None,
    q: Annotated[str | None, Query(max_length=500, description="A monitoring query.")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Stored articles, newest first, one page at a time (pass ``next_cursor`` back)."""
    where = ArticleFilter(
        since=parse_instant(since, "since"),
        until=parse_instant(until, "until"),
        topic=plain(topic),
        actor=plain(actor),
        feed_id=feed,
        story_id=story,
    )
    page = insights.list_articles(ctx.store, where, query=plain(q), cursor=cursor, limit=limit)
    return shapes.page_json(page)


@router.get("/articles/{article_id}", response_model=schemas.ArticleOut)
def article(ctx: Ctx, article_id: Id) -> dict[str, Any]:
    return article_json(insights.get_article(ctx.store, article_id))


@router.get("/stories", response_model=schemas.StoryListOut)
def stories(
    ctx: Ctx, since: str | None = None, limit: Annotated[int, Query(ge=1, le=50)] = 20
) -> dict[str, Any]:
    """The largest stories (most articles first), each with its outlets, members and actors."""
    found = largest_stories_in_full(ctx.store, since=parse_instant(since, "since"), limit=limit)
    return {"stories": [story_json(s) for s in found]}


@router.get("/stories/{story_id}", response_model=schemas.StoryOut)
def story(ctx: Ctx, story_id: Id) -> dict[str, Any]:
    return story_json(story_detail(ctx.store, story_id))


@router.get("/actors", response_model=schemas.ActorListOut)
def actors(ctx: Ctx, days: Days = 7, limit: Limit = 50) -> dict[str, Any]:
    """Actors by articles in the window; every watched actor is listed, even at zero."""
    now = ctx.now()
    found = insights.actors(ctx.store, now, days=days, limit=limit, watched=ctx.watched_names())
    since, until = insights.window(now, days)
    return {
        "since": shapes.iso(since),
        "until": shapes.iso(until),
        "actors": [shapes.actor_total_json(t) for t in found],
    }


# {name:path}: an actor's name may hold a "/" ("AC/DC"), which arrives decoded.
@router.get("/actors/{name:path}", response_model=schemas.ActorReportOut)
def actor(
    ctx: Ctx, name: str, days: Days = 90, bucket: BucketParam = "day", evidence: Limit = 10
) -> dict[str, Any]:
    """One actor: its sentiment series (articles, mean, shares by day or hour), evidence
    sentences and the actors named beside it."""
    report = insights.actor_report(
        ctx.store,
        plain(name) or "",
        ctx.now(),
        days=days,
        bucket=insights.check_bucket(bucket, days),
        evidence=evidence,
    )
    return shapes.actor_report_json(report)


@router.get("/topics", response_model=schemas.TopicListOut)
def topics(ctx: Ctx, days: Days = 7) -> dict[str, Any]:
    now = ctx.now()
    since, until = insights.window(now, days)
    found = insights.topics(ctx.store, now, days=days)
    return {
        "since": shapes.iso(since),
        "until": shapes.iso(until),
        "topics": [shapes.topic_total_json(t) for t in found],
    }


@router.get("/topics/{code}", response_model=schemas.TopicReportOut)
def topic(
    ctx: Ctx, code: str, days: Days = 30, bucket: BucketParam = "day", limit: Limit = 20
) -> dict[str, Any]:
    """A topic's volume over time and its newest articles."""
    report = insights.topic_report(
        ctx.store,
        plain(code) or "",
        ctx.now(),
        days=days,
        bucket=insights.check_bucket(bucket, days),
        latest=limit,
    )
    return shapes.topic_report_json(report)


@router.get("/feeds", response_model=schemas.FeedListOut)
def feeds(ctx: Ctx) -> dict[str, Any]:
    """Every feed with its health, last error and next fetch."""
    return {"feeds": [feed_json(f) for f in feed_list.list_feeds(ctx.store)]}


@router.get("/digests", response_model=schemas.DigestListOut)
def digests(ctx: Ctx, days: Days = 7) -> dict[str, Any]:
    """Digest runs of the window, newest first."""
    runs = insights.recent_digests(ctx.store, ctx.now(), days=days)
    return {"digests": [shapes.digest_run_json(r, name) for r, name in runs]}


@router.get("/overview", response_model=schemas.OverviewOut)
def overview(ctx: Ctx, days: Days = 7, limit: Annotated[int, Query(ge=1, le=50)] = 10) -> Any:
    """What the dashboard's first page shows, as data."""
    return shapes.overview_json(insights.overview(ctx.store, ctx.now(), days=days, limit=limit))


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]
