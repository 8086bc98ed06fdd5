"""The JSON shapes of the public contract (``newsmon export``, ``newsmon analyze`` and
``newsmon stories list|show --json``).

Scripts outside the project parse these: fields are only ever added, never renamed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feeds.models import (
    ActorSentiment,
    AnalysisResult,
    FeedInfo,
    StoredArticle,
    StoryDetail,
    StorySummary,
    TargetSentiment,
    TopicScore,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def feed_json(feed: FeedInfo) -> dict[str, Any]:
    """A feed's every field (``feeds list --json``, ``/api/v1/feeds``)."""
    out = {k: getattr(feed, k) for k in feed.__dataclass_fields__}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


def topic_json(topic: TopicScore) -> dict[str, Any]:
    return {"code": topic.code, "label": topic.label, "score": round(topic.score, 4)}


def actor_json(actor: ActorSentiment) -> dict[str, Any]:
    return {
        "name": actor.name,
        "type": actor.type,
        "sentiment": actor.sentiment,
        "score": round(actor.score, 4),
        "evidence": list(actor.evidence),
        "mentions": actor.mentions,
        "watched": actor.watched,
    }


def article_json(article: StoredArticle) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "published": _iso(article.published),
        "first_seen": _iso(article.first_seen),
        "feeds": [{"id": f.id, "url": f.url, "title": f.title} for f in article.feeds],
        "topics": [topic_json(t) for t in article.topics],
        "actors": [actor_json(a) for a in article.actors],
        "analyzed": article.analyzed,
        "story_id": article.story_id,
        "duplicate_of": article.duplicate_of,
    }


def analysis_json(
    doc_id: Any, result: AnalysisResult, targets: list[TargetSentiment] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": doc_id,
        "topics": [topic_json(t) for t in result.topics],
        "actors": [actor_json(a) for a in result.actors],
    }
    if result.text_cut_at is not None:
        out["text_cut_at"] = result.text_cut_at  # analysis read only this many characters
    if targets is not None:
        out["targets"] = [
            {"from": t.start, "to": t.end, "sentiment": t.sentiment, "score": round(t.score, 4)}
            for t in targets
        ]
    return out


def story_summary_json(story: StorySummary) -> dict[str, Any]:
    """One line of ``stories list --json``."""
    return {
        "id": story.id,
        "title": story.title,
        "articles": story.articles,
        "outlets": story.outlets,
        "first": _iso(story.first_time),
        "last": _iso(story.last_time),
    }


def story_json(story: StoryDetail) -> dict[str, Any]:
    """``stories show --json``: the list's fields, then the outlets, timeline and actors."""
    # A superset of the list's object, so a script can read either with one parser.
    return {
        **story_summary_json(story.summary),
        "by_outlet": [
            {"feed_id": o.feed_id, "name": o.name, "url": o.url, "articles": o.articles}
            for o in story.outlets
        ],
        "timeline": [
            {
                "id": m.article_id,
                "time": _iso(m.time),
                "outlets": list(m.outlets),
                "title": m.title,
                "url": m.url,
                "duplicate_of": m.duplicate_of,
            }
            for m in story.timeline
        ],
        "actors": [
            {
                "name": x.name,
                "type": x.type,
                "mentions": x.mentions,
                "mean_sentiment": round(x.mean_sentiment, 4),
                "negative": x.negative,
                "neutral": x.neutral,
                "positive": x.positive,
            }
            for x in story.actors
        ],
    }
