"""The grouping use case: give each new article its original (if it is a copy) and its story.

It runs in the analysis stage, after an article is stored and analysed, never inside the
ingest transaction: fetching stays fast, and the decision can use everything known about
the article. Per article::

    pure, outside any transaction:
        shingles + MinHash band keys                        -- feeds.dedup.neardup
        rarity-weighted terms and salient names, event time -- feeds.dedup.stories
        days, scores, ages, magnitudes, tolls               -- feeds.dedup.events
    one short transaction:
        take the story-index lock (one assigner at a time)  -- Repository
        skip the article if another worker grouped it
        band candidates in the window -> exact resemblance  -- near-duplicate?
          (and no conflict of salient names)
          yes: duplicate_of = the original (the first copy), same story
          no:  story candidates from the term index in the window -> choose_story
               (most similar terms, salient names and figures not in conflict,
               a lower bar with evidence of the same event)
               join it, or open a new story
        index the article's bands and the story's terms

Why a lock: two workers analysing two copies of one wire article at the same moment
would each find no candidate and open two stories. The assignment is a few indexed reads
and writes, so serialising it costs little and makes the outcome the same as if the
articles had arrived one after the other. On PostgreSQL the lock is a transaction-scoped
advisory lock; SQLite's write transactions are serialised already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.dedup.events import event_keys
from feeds.dedup.neardup import MIN_RESEMBLANCE, fingerprint, resemblance, shingles
from feeds.dedup.stories import (
    INDEX_TERMS,
    MAX_CANDIDATES,
    QUERY_TERMS,
    WINDOW,
    article_vector,
    choose_story,
    event_time,
    merge_signature,
    name_vector,
    names_conflict,
    top_terms,
)
from feeds.models import ArticleForGrouping
from feeds.ports import Repository, Store

# Copies of one text are looked for this far apart (event time) in either direction.
DUPLICATE_WINDOW = timedelta(days=7)
# Most band candidates checked exactly per article (those sharing most bands first).
MAX_DUPLICATE_CANDIDATES = 20


@dataclass(frozen=True, slots=True)
class Grouping:
    """What happened to one article."""

    article_id: int
    story_id: int
    duplicate_of: int | None
    new_story: bool


def group_pending(
    store: Store, *, ids: Sequence[int] | None = None, limit: int = 500
) -> list[Grouping]:
    """Group articles that have no story yet (those in ``ids``, or any), oldest first."""
    done: list[Grouping] = []
    remaining = list(ids) if ids is not None else None
    while True:
        batch = remaining[:limit] if remaining is not None else None
        with store.transaction() as repo:
            items = repo.ungrouped_articles(ids=batch, limit=limit)
        for item in items:
            result = group_one(store, item)
            if result is not None:
                done.append(result)
        if remaining is not None:
            remaining = remaining[limit:]
            if not remaining:
                return done
        elif len(items) < limit:
            return done


def group_one(store: Store, item: ArticleForGrouping) -> Grouping | None:
    """Decide and record one article's story; None when another worker did it first."""
    body_shingles, bands = fingerprint(item.text)
    when = event_time(item.published, item.first_seen)
    vector = {**article_vector(item.title, item.text), **event_keys(item.title, item.text, when)}
    with store.transaction() as repo:
        repo.lock_story_index()
        if repo.story_of(item.id) is not None:
            return None
        grouping = _near_duplicate(repo, item.id, item.text, body_shingles, bands, when)
        if grouping is None:
            grouping = _story(repo, item.id, vector, when)
        repo.index_bands(item.id, bands, when)
        return grouping


def _near_duplicate(
    repo: Repository,
    article_id: int,
    text: str,
    body: frozenset[str],
    bands: Sequence[int],
    when: datetime,
) -> Grouping | None:
    if not bands:
        return None
    names = name_vector("", text)
    best: tuple[float, int, int, int] | None = None  # (score, -id, original, story)
    for cand in repo.duplicate_candidates(
        bands,
        start=when - DUPLICATE_WINDOW,
        end=when + DUPLICATE_WINDOW,
        limit=MAX_DUPLICATE_CANDIDATES,
        exclude=article_id,
    ):
        if cand.story_id is None:
            continue
        score = resemblance(body, shingles(cand.text))
        # A template filled in with other names (two police reports written alike) is
        # not a copy: the copy of a wire article keeps the wire article's names.
        if score < MIN_RESEMBLANCE or names_conflict(names, name_vector("", cand.text)):
            continue
        original = cand.duplicate_of if cand.duplicate_of is not None else cand.id
        key = (score, -cand.id, original, cand.story_id)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    _, _, original, story_id = best
    repo.assign_story(article_id, story_id, duplicate_of=original)
    repo.extend_story(story_id, when, signature=None, index_terms=None)
    return Grouping(article_id, story_id, original, new_story=False)


def _story(repo: Repository, article_id: int, vector: dict[str, float], when: datetime) -> Grouping:
    query = top_terms(vector, QUERY_TERMS)
    candidates = (
        repo.story_candidates(query, start=when - WINDOW, end=when + WINDOW, limit=MAX_CANDIDATES)
        if query
        else []
    )
    choice = choose_story(vector, when, candidates)
    if choice.story_id is None:
        signature = merge_signature({}, vector)
        story_id = repo.create_story(when, signature, top_terms(signature, INDEX_TERMS))
        repo.assign_story(article_id, story_id, duplicate_of=None)
        return Grouping(article_id, story_id, None, new_story=True)
    current = next(c for c in candidates if c.id == choice.story_id)
    signature = merge_signature(current.signature, vector)
    repo.extend_story(
        choice.story_id, when, signature=signature, index_terms=top_terms(signature, INDEX_TERMS)
    )
    repo.assign_story(article_id, choice.story_id, duplicate_of=None)
    return Grouping(article_id, choice.story_id, None, new_story=False)
