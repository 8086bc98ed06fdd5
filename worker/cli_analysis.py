"""``newsmon reanalyze``: the analysis stage run from the command line.

``--pending`` analyses every article a deferred poll (or a lost task) left unanalysed;
``--since DATE`` re-runs analysis on stored articles first seen since then, for example
after a model or watchlist change. Both run in this process and return when done.
See docs/STAGES.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from feeds.analysis_stage import DEFAULT_BATCH, analyze_articles
from feeds.errors import InvalidInput
from worker import bootstrap
from worker.cli_output import console, err_console


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--since {value!r} is not an ISO date such as 2026-11-27") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reanalyze(
    pending: Annotated[
        bool, typer.Option("--pending", help="Analyse every article still waiting for analysis.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="ISO date: re-analyse every article first seen on or after it."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Articles per transaction.")] = DEFAULT_BATCH,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr.")
    ] = True,
) -> None:
    """Run the analysis stage now: pending articles, or re-analyse those seen since a date."""
    if pending == (since is not None):
        raise typer.BadParameter("give exactly one of --pending or --since DATE")
    c = bootstrap.container()
    pipeline = c.pipeline
    with c.store.transaction() as repo:
        if since is not None:
            ids = repo.article_ids(since=_since(since))
        else:
            ids = repo.article_ids(pending=True)
    if not ids:
        console.print("nothing to analyse", markup=False)
        return
    with Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("analysis", total=len(ids))
        try:
            done = analyze_articles(
                c.store,
                pipeline.analyze_documents,
                pipeline.clock,
                ids,
                batch=batch,
                on_batch=lambda n: bar.advance(task, n),
            )
        finally:
            pipeline.close()  # the analysis worker processes, if any
    console.print(f"analysed {done} articles", markup=False)


def register(app: typer.Typer) -> None:
    app.command("reanalyze")(reanalyze)
