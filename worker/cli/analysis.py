"""``newsmon reanalyze``, ``analyze`` and ``export``: the analysis stage and its outputs.

``reanalyze`` runs the analysis stage from the command line.
``--pending`` analyses every article a deferred poll (or a lost task) left unanalysed;
``--since DATE`` re-runs analysis on stored articles first seen since then, for example
after a model or watchlist change. Both run in this process and return when done.
See docs/STAGES.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from feeds.usecases.analyze import DEFAULT_BATCH, analyze_articles, ids_to_analyze
from worker.cli.base import container, parse_since
from worker.cli.output import console, err_console, plural


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if pending == (since is not None):
        raise typer.BadParameter("give exactly one of --pending or --since DATE")
    c = container()
    pipeline = c.pipeline
    ids = ids_to_analyze(c.store, since=parse_since(since))
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
    console.print(f"analysed {plural(done, 'article')}", markup=False)


def export(
    format_: Annotated[str, typer.Option("--format", help="Only jsonl for now.")] = "jsonl",
    since: Annotated[str | None, typer.Option(help="ISO date: first seen on or after.")] = None,
    output: Annotated[Path | None, typer.Option(help="File (default stdout).")] = None,
) -> None:
    """Write stored articles as JSON Lines."""
    from worker.admin import export_articles

    if format_ != "jsonl":
        raise typer.BadParameter(f"unknown format {format_!r}; only 'jsonl' is supported")
    count = export_articles(container(), parse_since(since), output)
    if output is not None:
        console.print(f"wrote {plural(count, 'article')} to {output}", markup=False)


def analyze(
    input_: Annotated[str, typer.Option("--input", help="JSON Lines file or '-'.")] = "-",
    output: Annotated[str, typer.Option(help="File or '-'.")] = "-",
) -> None:
    """Analyse JSON Lines documents without storing anything."""
    from worker import bootstrap
    from worker.admin import analyze_stream
    from worker.topics import with_topics

    analyzer = with_topics(
        bootstrap.load_analyzer(bootstrap.current_settings(), keyword_topics=False)
    )
    analyze_stream(analyzer, input_, output)
