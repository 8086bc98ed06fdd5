"""Administrative use cases the CLI drives: OPML, export, stand-alone analysis, subscriptions.

They only sequence ports (the repository, the analyzer); no SQL lives here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.errors import AlreadyExists, InvalidInput
from feeds.export import analysis_json, article_json
from feeds.models import Document, Sentiment, Subscription, SubscriptionSpec, TargetSpan
from feeds.opml import OpmlFeed, parse_opml, render_opml
from feeds.ports import Analyzer
from feeds.schedule import parse_hhmm
from worker.bootstrap import Container
from worker.mailer import validate_address

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def import_opml(c: Container, file: Path) -> tuple[int, int]:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    feeds = parse_opml(data)
    added = existing = 0
    now = c.pipeline.clock.now()
    # One transaction: a failure half-way leaves the feed list as it was.
    with c.store.transaction() as repo:
        known = {f.url for f in repo.list_feeds()}
        for feed in feeds:
            if feed.url in known:
                existing += 1
                continue
            if not feed.url.startswith(("http://", "https://")):
                raise InvalidInput(f"{file}: {feed.url!r} is not an http(s) URL; nothing imported")
            try:
                repo.add_feed(feed.url, feed.title, now)
            except AlreadyExists:
                existing += 1
                continue
            known.add(feed.url)
            added += 1
    return added, existing


def export_opml(c: Container) -> str:
    with c.store.transaction() as repo:
        feeds = repo.list_feeds()
    return render_opml([OpmlFeed(f.url, f.title) for f in feeds])


@contextmanager
def _open(target: str | Path | None, mode: str) -> Iterator[IO[str]]:
    if target in (None, "-"):
        yield sys.stdin if "r" in mode else sys.stdout
        return
    try:
        with open(target, mode, encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        raise InvalidInput(f"cannot open {target}: {exc.strerror}") from None


def export_articles(c: Container, since: datetime | None, output: Path | None) -> int:
    count = 0
    # Write to a temporary name and rename, so a failed export never leaves half a file.
    tmp = output.with_name(output.name + ".part") if output else None
    with c.store.transaction() as repo, _open(tmp, "w") as out:
        for article in repo.iter_articles(since=since):
            out.write(json.dumps(article_json(article), ensure_ascii=False) + "\n")
            count += 1
    if tmp is not None and output is not None:
        tmp.replace(output)
    return count


def _document(line_no: int, raw: str) -> tuple[Any, Document, list[TargetSpan] | None]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"input line {line_no}: not JSON ({exc.msg})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise InvalidInput(f"input line {line_no}: expected an object with a string 'text'")
    title = obj.get("title") or ""
    if not isinstance(title, str):
        raise InvalidInput(f"input line {line_no}: 'title' must be a string")
    targets = None
    if "targets" in obj:
        try:
            targets = [TargetSpan(int(t["from"]), int(t["to"])) for t in obj["targets"]]
        except (TypeError, KeyError, ValueError):
            raise InvalidInput(
                f'input line {line_no}: \'targets\' must be a list of {{"from": int, "to": int}}'
            ) from None
    return obj.get("id"), Document(str(obj.get("id")), title, obj["text"]), targets


def analyze_stream(analyzer: Analyzer, source: str, target: str) -> int:
    """Read every line first, so a bad line N fails before anything is written."""
    with _open(source, "r") as inp:
        lines = [(n, raw) for n, raw in enumerate(inp, 1) if raw.strip()]
    parsed = [_document(n, raw) for n, raw in lines]
    results = []
    for n, (doc_id, doc, targets) in zip((n for n, _ in lines), parsed, strict=True):
        result = analyzer.analyze(doc)
        try:
            spans = analyzer.target_sentiment(doc.text, targets) if targets is not None else None
        except InvalidInput as exc:
            raise InvalidInput(f"input line {n}: {exc}") from None
        results.append(analysis_json(doc_id, result, spans))
    with _open(target, "w") as out:
        for obj in results:
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return len(results)


def add_subscription(
    c: Container,
    name: str,
    emails: Sequence[str],
    schedule: str,
    at: str,
    tz: str,
    day: str,
    topics: Sequence[str],
    actors: Sequence[str],
    *,
    queries: Sequence[str] = (),
    sentiments: Sequence[str] = (),
    outlets: Sequence[str] = (),
    spike_alerts: bool = False,
) -> Subscription:
    if not name.strip():
        raise InvalidInput("a subscription needs a name")
    if schedule not in ("daily", "weekly", "immediate"):
        raise InvalidInput(f"--schedule {schedule!r}: use daily, weekly or immediate")
    if day.lower() not in WEEKDAYS:
        raise InvalidInput(f"--day {day!r}: use a weekday name such as monday")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"--tz {tz!r} is not a known time zone (e.g. Europe/London)") from None
    if not emails:
        raise InvalidInput("give at least one --email")
    spec = SubscriptionSpec(
        name=name.strip(),
        emails=tuple(validate_address(e) for e in emails),
        schedule=schedule,  # type: ignore[arg-type]  # checked above
        at=parse_hhmm(at),
        tz=tz,
        weekday=WEEKDAYS.index(day.lower()),
        topics=tuple(topics),
        actors=tuple(actors),
        queries=tuple(queries),
        sentiments=check_sentiments(sentiments),
        outlets=tuple(outlets),
        spike_alerts=spike_alerts,
    )
    with c.store.transaction() as repo:
        return repo.add_subscription(spec, c.pipeline.clock.now())


def check_sentiments(values: Sequence[str]) -> tuple[Sentiment, ...]:
    allowed: tuple[Sentiment, ...] = ("negative", "neutral", "positive")
    out: list[Sentiment] = []
    for value in values:
        match = [s for s in allowed if s == value.strip().lower()]
        if not match:
            raise InvalidInput(f"--sentiment {value!r}: use negative, neutral or positive")
        out.append(match[0])
    return tuple(dict.fromkeys(out))
