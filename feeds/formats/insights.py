"""The JSON shapes of the web API's read models (``/api/v1/…``, docs/FORMATS.md).

Articles, stories and feeds keep the shapes of :mod:`feeds.formats.export`, so a script
that reads an export reads the API too. Like those, these fields only ever grow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feeds.formats.export import article_json, feed_json, story_summary_json
from feeds.models import DigestRun
from feeds.reports import ActorPoint, ActorTotal, EvidenceItem, TopicTotal, VolumePoint
from feeds.usecases.insights import ActorReport, ArticlePage, Mover, Overview, TopicReport


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def page_json(page: ArticlePage) -> dict[str, Any]:
    return {
        "articles": [article_json(a) for a in page.articles],
        "next_cursor": page.next_cursor,
    }


def volume_json(point: VolumePoint) -> dict[str, Any]:
    return {"start": iso(point.start), "articles": point.articles}


def _sentiment(counts: ActorPoint | ActorTotal) -> dict[str, Any]:
    """Articles mentioning an actor and how they read it (a point's or a total's)."""
    n = counts.articles or 1
    return {
        "articles": counts.articles,
        "mentions": counts.articles,  # as in stories: the articles that mention the actor
        "mean": counts.mean,
        "negative": counts.negative,
        "neutral": counts.neutral,
        "positive": counts.positive,
        "share_negative": round(counts.negative / n, 4),
        "share_positive": round(counts.positive / n, 4),
    }


def actor_point_json(point: ActorPoint) -> dict[str, Any]:
    return {"start": iso(point.start), **_sentiment(point)}


def actor_total_json(total: ActorTotal) -> dict[str, Any]:
    return {"name": total.name, "type": total.type, "watched": total.watched, **_sentiment(total)}


def mover_json(mover: Mover) -> dict[str, Any]:
    return {
        **actor_total_json(mover.total),
        "baseline_daily": mover.baseline_daily,
        "baseline_mean": mover.baseline_mean,
        "volume_ratio": mover.volume_ratio,
        "sentiment_shift": mover.sentiment_shift,
        "movement": mover.movement,
    }


def evidence_json(item: EvidenceItem) -> dict[str, Any]:
    return {
        "article_id": item.article_id,
        "title": item.title,
        "url": item.url,
        "first_seen": iso(item.first_seen),
        "sentiment": item.sentiment,
        "score": round(item.score, 4),
        "sentences": list(item.sentences),
    }


def topic_total_json(total: TopicTotal) -> dict[str, Any]:
    return {"code": total.code, "label": total.label, "articles": total.articles}


def overview_json(view: Overview) -> dict[str, Any]:
    return {
        "since": iso(view.since),
        "until": iso(view.until),
        "articles": view.articles,
        "hourly": [volume_json(p) for p in view.volume],
        "daily": [volume_json(p) for p in view.daily],
        "stories": [story_summary_json(s) for s in view.stories],
        "movers": [mover_json(m) for m in view.movers],
        "topics": [topic_total_json(t) for t in view.topics],
        "failing_feeds": [feed_json(f) for f in view.failing_feeds],
    }


def actor_report_json(report: ActorReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "since": iso(report.since),
        "until": iso(report.until),
        "bucket": report.bucket,
        "total": actor_total_json(report.total) if report.total else None,
        "series": [actor_point_json(p) for p in report.series],
        "evidence": [evidence_json(e) for e in report.evidence],
        "co_actors": [{"name": c.name, "articles": c.articles} for c in report.co_actors],
    }


def topic_report_json(report: TopicReport) -> dict[str, Any]:
    return {
        "code": report.code,
        "label": report.label,
        "since": iso(report.since),
        "until": iso(report.until),
        "bucket": report.bucket,
        "articles": report.articles,
        "series": [volume_json(p) for p in report.series],
        "latest": [article_json(a) for a in report.latest],
    }


def digest_run_json(run: DigestRun, subscription: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "subscription_id": run.subscription_id,
        "subscription": subscription,
        "period": run.period_key,
        "status": run.status,
        "created_at": iso(run.created_at),
        "sent_at": iso(run.sent_at),
        "articles": run.article_count,
        "attempts": run.attempts,
        "error": run.error,
        "recipients_reached": len(run.delivered),
    }
