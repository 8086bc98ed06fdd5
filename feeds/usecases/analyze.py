"""The analysis stage on its own: analyse (or re-analyse) stored articles by id.

Ingest and analysis are separate stages (docs/STAGES.md): a poll may store its new
articles and leave them pending (``poll --defer-analysis``); this use case then analyses
them, or re-analyses articles already analysed after the models or the watchlist changed.
The flow, per batch of ids::

    read the articles' text                       -- one short transaction
    analyse them                                  -- outside any transaction: here, or in
                                                     worker processes (AnalysisPool)
    replace their analysis                        -- a second transaction
    give those without a story theirs             -- feeds.usecases.group

Reading and saving are separate transactions because analysis is slow and must not hold
SQLite's write lock. Saving replaces, so a batch repeated after a crash changes nothing,
and an article another process analysed meanwhile simply gets the same result again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from feeds.models import AnalysisResult, ArticleForAnalysis, Document
from feeds.ports import Clock, Store

DEFAULT_BATCH = 200


def analyze_articles(
    store: Store,
    analyze: Callable[[Sequence[Document]], list[AnalysisResult]],
    clock: Clock,
    ids: Sequence[int] | None = None,
    *,
    pending_only: bool = False,
    batch: int = DEFAULT_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Analyse articles in batches; returns how many were analysed.

    ``ids`` given: those articles (ids that no longer exist are skipped), whatever their
    state, or with ``pending_only`` only those never analysed. ``ids`` None: every article
    still waiting for analysis (``pending_only`` is implied). ``analyze`` gives each
    document's analysis in order (``Pipeline.analyze_documents``); ``on_batch`` is called
    with the size of each saved batch (for a progress bar).

    Stories are part of the analysis stage: articles of the batch that have none yet are
    grouped after their analysis is saved (a repeated task still groups articles an
    earlier run analysed but stopped before grouping); re-analysed articles keep the story
    they have. This is the one analysis loop: the pipeline's ``analyze_pending``, the
    Celery tasks and ``newsmon reanalyze`` all run it."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    # Imported here: grouping pulls in the dedup machinery, which a CLI that only needs
    # this module's constants (reanalyze --help) should not pay for.
    from feeds.usecases.group import group_pending

    done = 0
    if ids is None:
        while True:
            with store.transaction() as repo:
                items = repo.pending_analysis(limit=batch)
            analysed = save_analyses(store, analyze, clock, items)
            group_pending(store, ids=analysed)
            done += len(analysed)
            if on_batch is not None:
                on_batch(len(analysed))
            if len(items) < batch:
                group_pending(store)  # stragglers, e.g. a crash between the two steps
                return done
    wanted = list(ids)
    for start in range(0, len(wanted), batch):
        chunk = wanted[start : start + batch]
        with store.transaction() as repo:
            if pending_only:
                items = repo.pending_analysis(ids=chunk, limit=batch)
            else:
                items = repo.articles_for_analysis(chunk)
        analysed = save_analyses(store, analyze, clock, items)
        group_pending(store, ids=chunk)
        done += len(analysed)
        if on_batch is not None:
            on_batch(len(analysed))
    return done


def ids_to_analyze(store: Store, *, since: datetime | None = None) -> list[int]:
    """Ids for ``newsmon reanalyze``: first seen since ``since``, or (None) all pending."""
    with store.transaction() as repo:
        if since is not None:
            return repo.article_ids(since=since)
        return repo.article_ids(pending=True)


def save_analyses(
    store: Store,
    analyze: Callable[[Sequence[Document]], list[AnalysisResult]],
    clock: Clock,
    items: Sequence[ArticleForAnalysis],
) -> list[int]:
    """Analyse ``items`` (outside any transaction), then save every result in one
    transaction; returns the ids saved, in order."""
    if not items:
        return []
    results = analyze([item.document() for item in items])
    now = clock.now()
    with store.transaction() as repo:
        for item, result in zip(items, results, strict=True):
            repo.save_analysis(item.id, result, now)
    return [item.id for item in items]
