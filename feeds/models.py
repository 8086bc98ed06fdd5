"""Frozen values that cross the core's boundaries.

Names say the direction: ``FeedSource`` comes *from* storage to be polled, ``FetchOutcome``
goes *to* storage after a poll, ``NewArticle`` is passed to storage to be inserted,
``StoredArticle`` comes back for export and digests. ORM rows never leave ``storage``.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Sentiment = Literal["negative", "neutral", "positive"]
ActorType = Literal["person", "organisation", "country", "other"]
Schedule = Literal["immediate", "daily", "weekly"]
DigestStatus = Literal["pending", "sent", "failed", "skipped"]  # skipped: nothing to send
# Stored health of a feed (see feeds.fetch.policy); "new" and "paused" are shown, not stored.
FeedHealth = Literal["ok", "flaky", "failing", "gone"]

# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A feed as the poller needs it (from storage)."""

    id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None
    # Scheduling state (feeds.fetch.policy); defaults describe a feed never polled.
    interval_seconds: int | None = None
    failure_score: float = 0.0
    error_count: int = 0
    body_hash: str | None = None
    redirect_url: str | None = None  # a permanent redirect target seen redirect_count times
    redirect_count: int = 0
    full_text: bool = False


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A feed with its status, for people (from storage)."""

    id: int
    url: str
    title: str | None
    site_url: str | None
    paused: bool
    created_at: datetime
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    error_count: int
    next_fetch_at: datetime | None
    etag: str | None
    last_modified: str | None
    article_count: int = 0
    health: FeedHealth = "ok"
    interval_seconds: int | None = None
    failure_score: float = 0.0
    last_http_status: int | None = None
    full_text: bool = False


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the fetcher got. Failures are raised as :class:`feeds.errors.FetchError`."""

    status: Literal["ok", "not_modified"]
    url: str  # final URL after redirects
    http_status: int
    content: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # True when every redirect hop on the way was permanent (301/308); ``url`` is then the
    # candidate new address of the feed.
    permanent_redirect: bool = False
    # Seconds the response may be cached (Cache-Control max-age, else Expires - Date).
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    guid: str | None
    link: str | None
    title: str
    published: datetime | None
    author: str | None
    summary: str  # plain text
    content: str  # plain text; the longest content block, else the summary
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None  # feedparser's bozo message when it recovered anyway
    ttl_minutes: int | None = None  # RSS <ttl>
    skip_hours: tuple[int, ...] = ()  # RSS <skipHours>, UTC hours 0..23


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """The result of one poll of one feed (to storage)."""

    feed_id: int
    fetched_at: datetime
    next_fetch_at: datetime
    ok: bool
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    title: str | None = None
    site_url: str | None = None
    # Scheduling state decided by feeds.fetch.policy; None leaves the stored value alone.
    interval_seconds: int | None = None
    failure_score: float | None = None
    health: FeedHealth | None = None
    body_hash: str | None = None
    redirect_url: str | None = None
    redirect_count: int | None = None
    new_url: str | None = None  # adopt this URL (a permanent redirect seen consistently)


@dataclass(frozen=True, slots=True)
class HostGrant:
    """A :class:`feeds.ports.HostLimiter`'s answer: a lease ``token``, or how long to wait."""

    token: str | None
    wait: float = 0.0  # seconds until asking again makes sense (when token is None)

    @property
    def granted(self) -> bool:
        return self.token is not None


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An entry ready to be stored once (to storage).

    ``canonical_url`` and ``content_hash`` are the cross-feed identity: storage keeps one
    article per canonical URL and one per content hash. ``entry_key`` is the per-feed
    identity (guid, else link, else a content hash) recorded on the sighting.
    """

    feed_id: int
    entry_key: str
    url: str | None
    canonical_url: str | None
    content_hash: str
    title: str
    published: datetime | None
    author: str | None
    summary: str
    content: str
    categories: tuple[str, ...]
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class ArticleRef:
    id: int
    created: bool  # False when the article was already stored (from another feed or pass)


@dataclass(frozen=True, slots=True)
class FeedRef:
    id: int
    url: str
    title: str | None


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True, slots=True)
class TopicScore:
    code: str  # e.g. "medtop:16000000"
    label: str
    score: float  # 0..1


@dataclass(frozen=True, slots=True)
class ActorSentiment:
    name: str
    type: ActorType
    sentiment: Sentiment
    score: float  # -1..1
    evidence: tuple[str, ...] = ()
    mentions: int = 0
    watched: bool = True  # False: found by actor discovery, not on the watchlist


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    topics: tuple[TopicScore, ...] = ()  # best first
    actors: tuple[ActorSentiment, ...] = ()
    # characters of the text read, when analysis stopped at its budget (feeds.analysis.budget)
    text_cut_at: int | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """Text to analyse; ``text`` is plain text (no markup)."""

    id: str
    title: str
    text: str
    author: str | None = None  # for user topics' author: and site: scopes
    url: str | None = None


@dataclass(frozen=True, slots=True)
class TargetSpan:
    start: int  # character offsets into Document.text, end exclusive
    end: int


@dataclass(frozen=True, slots=True)
class TargetSentiment:
    start: int
    end: int
    sentiment: Sentiment
    score: float


@dataclass(frozen=True, slots=True)
class Actor:
    """A watched actor and the names that count as a mention of it."""

    name: str
    type: ActorType
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicRule:
    """A topic defined by terms: any term (case-insensitive, whole word) counts."""

    code: str
    label: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArticleForAnalysis:
    id: int
    title: str
    text: str
    author: str | None = None
    url: str | None = None

    def document(self) -> Document:
        return Document(str(self.id), self.title, self.text, self.author, self.url)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article with everything known about it (from storage)."""

    id: int
    url: str | None
    title: str
    published: datetime | None
    first_seen: datetime
    summary: str
    feeds: tuple[FeedRef, ...]
    topics: tuple[TopicScore, ...] = ()
    actors: tuple[ActorSentiment, ...] = ()
    analyzed: bool = False
    story_id: int | None = None
    duplicate_of: int | None = None


# --------------------------------------------------------------------------- digests


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A subscription as the user asked for it (to storage)."""

    name: str
    emails: tuple[str, ...]
    schedule: Schedule = "daily"
    at: str = "08:00"  # HH:MM local time
    tz: str = "UTC"
    weekday: int = 0  # 0 = Monday; weekly only
    topics: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    # Filters added with the digest rework (see docs/DIGESTS.md); empty means "any".
    queries: tuple[str, ...] = ()  # monitoring query names (topics coded "user:NAME")
    sentiments: tuple[Sentiment, ...] = ()  # e.g. ("negative",): only such coverage
    outlets: tuple[str, ...] = ()  # feed title, feed host or feed id
    spike_alerts: bool = False  # also mail spike alerts for the watched actors


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    spec: SubscriptionSpec
    paused: bool
    created_at: datetime

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class Period:
    """A digest period: ``[start, end)`` in UTC, named by a stable key."""

    key: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class DigestRun:
    id: int
    subscription_id: int
    period_key: str
    status: DigestStatus
    message_id: str
    created_at: datetime
    sent_at: datetime | None = None
    article_count: int = 0
    error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None  # None after success or when given up
    lease_expires_at: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    delivered: tuple[str, ...] = ()  # recipients this run already reached


@dataclass(frozen=True, slots=True)
class InlineImage:
    """An image carried inside an email and shown by ``<img src="cid:...">``."""

    cid: str  # without angle brackets, e.g. "trend-1.abc@newsmon"
    content: bytes
    subtype: str = "png"
    filename: str = "image.png"


@dataclass(frozen=True, slots=True)
class ActorMention:
    """One actor found in one article, for trends, panels and spikes (from storage)."""

    article_id: int
    story_id: int | None
    name: str
    sentiment: Sentiment
    score: float
    first_seen: datetime
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestEmail:
    """A rendered digest, ready for a :class:`feeds.ports.Mailer`."""

    subject: str
    sender: str
    recipients: tuple[str, ...]
    html: str
    text: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)
    inline_images: tuple[InlineImage, ...] = ()  # related to the HTML part


# --------------------------------------------------------------------------- stories


@dataclass(frozen=True, slots=True)
class ArticleForGrouping:
    """An article waiting for its story and near-duplicate decision (from storage)."""

    id: int
    title: str
    text: str
    published: datetime | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A stored article sharing MinHash bands with a new one (from storage)."""

    id: int
    text: str
    story_id: int | None
    duplicate_of: int | None
    shared_bands: int


@dataclass(frozen=True, slots=True)
class StorySummary:
    """A story for people: its size, its outlets and the headline that opened it."""

    id: int
    title: str
    articles: int
    outlets: int
    first_time: datetime
    last_time: datetime


@dataclass(frozen=True, slots=True)
class StoryOutlet:
    """One outlet (feed) that carried articles of the story."""

    feed_id: int
    name: str  # the feed's title, else its host (as digests name outlets)
    url: str
    articles: int  # the story's articles this feed carried, copies included


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One article of the story, as the timeline shows it."""

    article_id: int
    time: datetime  # the event time the story was built on (published, else first seen)
    outlets: tuple[str, ...]  # names of the feeds that carried it, first sighting first
    title: str
    url: str | None
    duplicate_of: int | None  # set when the article is a copy of that one


@dataclass(frozen=True, slots=True)
class StoryActor:
    """One actor across the story: how often and in which tone it was mentioned."""

    name: str
    type: ActorType
    mentions: int  # articles mentioning it, copies left out
    mean_sentiment: float  # mean score of those articles, -1..1
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True, slots=True)
class StoryDetail:
    """One story in full, for ``newsmon stories show``."""

    summary: StorySummary
    outlets: tuple[StoryOutlet, ...]  # most articles first
    timeline: tuple[StoryMember, ...]  # oldest first
    actors: tuple[StoryActor, ...]  # most mentioned first


# --------------------------------------------------------------------------- actors


@dataclass(frozen=True, slots=True)
class TargetInSentence:
    """One mention to judge: ``sentence[start:end]`` is the target (end exclusive).

    ``others``: the (start, end) spans, in the same sentence, of the other targets read
    with it (other actors' mentions, other requested spans); the model marks them, so it
    sees whom else the sentence's tone may be aimed at.
    """

    sentence: str
    start: int
    end: int
    others: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class MentionSentiment:
    """A model's class probabilities toward one mention.

    ``sentiment`` is the most probable class; ``score`` is P(positive) - P(negative), in
    [-1, 1], so its sign never contradicts a negative or positive class.
    """

    negative: float
    neutral: float
    positive: float

    @property
    def score(self) -> float:
        return self.positive - self.negative

    @property
    def sentiment(self) -> Sentiment:
        best = max(self.negative, self.neutral, self.positive)
        if best == self.neutral:
            return "neutral"
        return "negative" if best == self.negative else "positive"


@dataclass(frozen=True, slots=True)
class WatchedActor:
    """A watchlist entry added (or a seed entry hidden) by a user (from and to storage)."""

    name: str
    type: ActorType
    aliases: tuple[str, ...] = ()
    hidden: bool = False  # True: a seed actor the user removed
    created_at: datetime | None = None
