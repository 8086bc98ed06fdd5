"""The API's responses as pydantic models: they document ``/api/v1/openapi.json``.

The JSON itself is built by :mod:`feeds.formats.export` and :mod:`feeds.formats.insights`
(one definition of each shape, shared with the CLI's exports); FastAPI validates every
response against these models, so a shape that drifts from its documentation fails loudly
in the tests instead of silently in a client. Fields only ever grow (docs/FORMATS.md).
"""

from __future__ import annotations

from pydantic import BaseModel


class FeedRefOut(BaseModel):
    id: int
    url: str
    title: str | None


class TopicOut(BaseModel):
    code: str
    label: str
    score: float


class ActorOut(BaseModel):
    name: str
    type: str
    sentiment: str
    score: float
    evidence: list[str]
    mentions: int
    watched: bool


class ArticleOut(BaseModel):
    id: int
    url: str | None
    title: str
    published: str | None
    first_seen: str | None
    feeds: list[FeedRefOut]
    topics: list[TopicOut]
    actors: list[ActorOut]
    analyzed: bool
    story_id: int | None
    duplicate_of: int | None


class ArticlePageOut(BaseModel):
    articles: list[ArticleOut]
    next_cursor: str | None


class StorySummaryOut(BaseModel):
    id: int
    title: str
    articles: int
    outlets: int
    first: str | None
    last: str | None


class StoryOutletOut(BaseModel):
    feed_id: int
    name: str
    url: str
    articles: int


class StoryMemberOut(BaseModel):
    id: int
    time: str | None
    outlets: list[str]
    title: str
    url: str | None
    duplicate_of: int | None


class StoryActorOut(BaseModel):
    name: str
    type: str
    mentions: int
    mean_sentiment: float
    negative: int
    neutral: int
    positive: int


class StoryOut(StorySummaryOut):
    by_outlet: list[StoryOutletOut]
    timeline: list[StoryMemberOut]
    actors: list[StoryActorOut]


class StoryListOut(BaseModel):
    stories: list[StoryOut]


class VolumeOut(BaseModel):
    start: str | None
    articles: int


class SentimentOut(BaseModel):
    articles: int
    mentions: int
    mean: float
    negative: int
    neutral: int
    positive: int
    share_negative: float
    share_positive: float


class ActorTotalOut(SentimentOut):
    name: str
    type: str
    watched: bool


class ActorListOut(BaseModel):
    since: str | None
    until: str | None
    actors: list[ActorTotalOut]


class ActorPointOut(SentimentOut):
    start: str | None


class EvidenceOut(BaseModel):
    article_id: int
    title: str
    url: str | None
    first_seen: str | None
    sentiment: str
    score: float
    sentences: list[str]


class CoActorOut(BaseModel):
    name: str
    articles: int


class ActorReportOut(BaseModel):
    name: str
    since: str | None
    until: str | None
    bucket: str
    total: ActorTotalOut | None
    series: list[ActorPointOut]
    evidence: list[EvidenceOut]
    co_actors: list[CoActorOut]


class TopicTotalOut(BaseModel):
    code: str
    label: str
    articles: int


class TopicListOut(BaseModel):
    since: str | None
    until: str | None
    topics: list[TopicTotalOut]


class TopicReportOut(BaseModel):
    code: str
    label: str
    since: str | None
    until: str | None
    bucket: str
    articles: int
    series: list[VolumeOut]
    latest: list[ArticleOut]


class FeedOut(BaseModel):
    id: int
    url: str
    title: str | None
    site_url: str | None
    paused: bool
    created_at: str
    last_fetch_at: str | None
    last_success_at: str | None
    last_error: str | None
    error_count: int
    next_fetch_at: str | None
    etag: str | None
    last_modified: str | None
    article_count: int
    health: str
    interval_seconds: int | None
    failure_score: float
    last_http_status: int | None
    full_text: bool


class FeedListOut(BaseModel):
    feeds: list[FeedOut]


class DigestRunOut(BaseModel):
    id: int
    subscription_id: int
    subscription: str
    period: str
    status: str
    created_at: str | None
    sent_at: str | None
    articles: int
    attempts: int
    error: str | None
    recipients_reached: int


class DigestListOut(BaseModel):
    digests: list[DigestRunOut]


class MoverOut(ActorTotalOut):
    baseline_daily: float
    baseline_mean: float | None
    volume_ratio: float
    sentiment_shift: float
    movement: float


class OverviewOut(BaseModel):
    since: str | None
    until: str | None
    articles: int
    hourly: list[VolumeOut]
    daily: list[VolumeOut]
    stories: list[StorySummaryOut]
    movers: list[MoverOut]
    topics: list[TopicTotalOut]
    failing_feeds: list[FeedOut]


class ErrorOut(BaseModel):
    error: str
