"""The admin CLI: a thin layer over the use cases in :mod:`feeds.pipeline`.

Commands parse arguments, call the library and print. Every :class:`NewsmonError` becomes
one line on stderr and exit status 1; usage errors exit with 2. The command names, flags
and JSON shapes are a public contract: extend, never rename.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from feeds.errors import InvalidInput, NewsmonError
from feeds.pipeline import Pipeline
from storage.repository import SqlStore
from worker import bootstrap, cli_analysis, cli_fetching
from worker.cli_digest import digest_app, subs_app
from worker.cli_output import console, err_console, feed_table, print_pass
from worker.cli_tasks import tasks_app
from worker.cli_topics import topics_app
from worker.settings import load_settings


class _Group(TyperGroup):
    """Turns our errors into one line and an exit status, wherever they are raised."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context is private
        try:
            return super().invoke(ctx)
        except NewsmonError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted", markup=False)
            raise typer.Exit(130) from None


def _typer(help_text: str) -> typer.Typer:
    return typer.Typer(
        cls=_Group,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
    )


app = _typer("newsmon: monitor news feeds, classify stories, send digests.")
feeds_app = _typer("Manage the feeds newsmon polls.")
app.add_typer(feeds_app, name="feeds")
app.add_typer(subs_app, name="subscriptions")
app.add_typer(digest_app, name="digest")
app.add_typer(topics_app, name="topics")
cli_fetching.register(app, feeds_app)
app.add_typer(tasks_app, name="tasks")
cli_analysis.register(app)


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML settings file (else NEWSMON_CONFIG)."),
    ] = None,
) -> None:
    if config is not None:
        bootstrap.configure(load_settings(config))


def _pipeline() -> Pipeline:
    return bootstrap.container().pipeline


def _store() -> SqlStore:
    return bootstrap.container().store


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--since {value!r} is not an ISO date such as 2026-11-27") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- feeds


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{url!r} is not an http(s) URL")
    return url


@feeds_app.command("add")
def feeds_add(
    url: str,
    title: Annotated[str | None, typer.Option("--title", help="Display title.")] = None,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover/--no-discover",
            help="Given a web page, find its feed (link rel=alternate, then common paths).",
        ),
    ] = True,
    full_text: Annotated[
        bool, typer.Option("--full-text", help="Fetch article pages for their full text.")
    ] = False,
) -> None:
    """Add a feed by its URL, or by the URL of a page that links to it."""
    c = bootstrap.container()
    target = _check_url(url)
    if discover:
        from worker.cli_fetching import discover_for_add

        target = discover_for_add(c, target)
    with c.store.transaction() as repo:
        feed = repo.add_feed(target, title, c.pipeline.clock.now())
        if full_text:
            repo.set_feed_full_text(feed.id, True)
    console.print(f"added feed {feed.id}: {feed.url}", markup=False, highlight=False)


@feeds_app.command("list")
def feeds_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """List feeds with their health and schedule."""
    with _store().transaction() as repo:
        feeds = repo.list_feeds()
    if as_json:
        for feed in feeds:
            typer.echo(json.dumps(_feed_json(feed)))
    elif not feeds:
        console.print("no feeds yet: add one with `newsmon feeds add URL`", markup=False)
    else:
        console.print(feed_table(feeds))


def _feed_json(feed: Any) -> dict[str, Any]:
    out = {k: getattr(feed, k) for k in feed.__dataclass_fields__}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


@feeds_app.command("show")
def feeds_show(feed_id: int) -> None:
    """Show one feed's status."""
    with _store().transaction() as repo:
        feed = repo.get_feed(feed_id)
    for key, value in _feed_json(feed).items():
        console.print(f"{key:>16}: {'' if value is None else value}", markup=False)


@feeds_app.command("remove")
def feeds_remove(feed_id: int) -> None:
    """Remove a feed (its articles stay; they lose this feed's sightings)."""
    with _store().transaction() as repo:
        repo.remove_feed(feed_id)
    console.print(f"removed feed {feed_id}")


@feeds_app.command("pause")
def feeds_pause(feed_id: int) -> None:
    """Stop polling a feed until it is resumed."""
    with _store().transaction() as repo:
        repo.set_feed_paused(feed_id, True)
    console.print(f"paused feed {feed_id}")


@feeds_app.command("resume")
def feeds_resume(feed_id: int) -> None:
    """Poll a paused feed again."""
    with _store().transaction() as repo:
        repo.set_feed_paused(feed_id, False)
    console.print(f"resumed feed {feed_id}")


@feeds_app.command("import")
def feeds_import(file: Path) -> None:
    """Add every feed of an OPML file (feeds already present are kept as they are)."""
    from worker.admin import import_opml

    added, existing = import_opml(bootstrap.container(), file)
    console.print(f"imported {added} feeds ({existing} already present)")


@feeds_app.command("export")
def feeds_export(file: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Write the feeds as OPML to FILE or stdout."""
    from worker.admin import export_opml

    text = export_opml(bootstrap.container())
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"wrote {file}")


# --------------------------------------------------------------------------- polling


@app.command("poll")
def poll(
    feed_ids: Annotated[list[int] | None, typer.Argument(help="Feed ids (default: due).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every active feed, due or not.")] = False,
    enqueue: Annotated[
        bool, typer.Option("--enqueue", help="Send the pass to the Celery workers.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="With --enqueue: wait until done.")] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: give up after seconds.")] = 3600,
    defer_analysis: Annotated[
        bool,
        typer.Option(
            "--defer-analysis",
            help="Store new articles and leave their analysis pending (for workers, "
            "`newsmon run`, a later poll or `newsmon reanalyze --pending`).",
        ),
    ] = False,
) -> None:
    """Poll feeds once: fetch, parse, deduplicate, store, then analyse what is pending."""
    if all_ and feed_ids:
        raise typer.BadParameter("give either --all or feed ids, not both")
    if wait and not enqueue:
        raise typer.BadParameter("--wait only makes sense with --enqueue")
    pipeline = _pipeline()
    if all_:
        sources = pipeline.sources()
    elif feed_ids:
        sources = pipeline.sources(feed_ids)
    else:
        sources = pipeline.due_feeds()
    if enqueue:
        from worker.distributed import enqueue_pass

        enqueue_pass(
            bootstrap.container(),
            sources,
            wait=wait,
            timeout=timeout,
            wait_for_analysis=not defer_analysis,
        )
        return
    started = time.monotonic()
    try:
        report = pipeline.poll_pass(sources, analyze=False)
        if not defer_analysis:
            # The pass's new articles and any a deferred pass or a crash left pending.
            report = replace(report, analyzed=pipeline.analyze_pending())
    finally:
        pipeline.close()  # worker processes, if the pass started any
    print_pass(report, time.monotonic() - started)


@app.command("run")
def run(
    tick: Annotated[
        float | None,
        typer.Option(help="Seconds between scheduler checks (default: the setting)."),
    ] = None,
) -> None:
    """Embedded scheduler: poll due feeds and send due digests until stopped (Ctrl-C)."""
    from worker.embedded import run_forever

    c = bootstrap.container()
    run_forever(c, tick=tick or c.settings.scheduler_tick_seconds)


@app.command("worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker (extra arguments go to Celery)."""
    from worker.celery_app import app as celery

    # No gossip and no mingle: newsmon uses neither (parked tasks and progress live in
    # Redis and the database), both are broadcasts whose traffic grows with the number of
    # workers, and the fault-injection suite proves recovery in this configuration
    # (docs/OPERATIONS.md).
    celery.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            *ctx.args,
        ]
    )


@app.command("beat", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def beat(
    ctx: typer.Context,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start the Celery beat scheduler (extra arguments go to Celery)."""
    from worker.celery_app import app as celery

    celery.start(["beat", f"--loglevel={loglevel}", *ctx.args])


# --------------------------------------------------------------------------- export, analyze


@app.command("export")
def export(
    format_: Annotated[str, typer.Option("--format", help="Only jsonl for now.")] = "jsonl",
    since: Annotated[str | None, typer.Option(help="ISO date: first seen on or after.")] = None,
    output: Annotated[Path | None, typer.Option(help="File (default stdout).")] = None,
) -> None:
    """Write stored articles as JSON Lines."""
    from worker.admin import export_articles

    if format_ != "jsonl":
        raise typer.BadParameter(f"unknown format {format_!r}; only 'jsonl' is supported")
    count = export_articles(bootstrap.container(), _parse_since(since), output)
    if output is not None:
        console.print(f"wrote {count} articles to {output}")


@app.command("analyze")
def analyze(
    input_: Annotated[str, typer.Option("--input", help="JSON Lines file or '-'.")] = "-",
    output: Annotated[str, typer.Option(help="File or '-'.")] = "-",
) -> None:
    """Analyse JSON Lines documents without storing anything."""
    from worker.admin import analyze_stream
    from worker.topics import with_topics

    analyzer = with_topics(
        bootstrap.load_analyzer(bootstrap.current_settings(), keyword_topics=False)
    )
    analyze_stream(analyzer, input_, output)


# --------------------------------------------------------------------------- demo


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to put the demo's files.")] = Path(
        "newsmon-demo"
    ),
) -> None:
    """Run the whole pipeline offline on the demo corpus in seeds/demo/."""
    from worker.demo import run_demo

    run_demo(directory)


from worker.cli_stories import stories_app  # noqa: E402 - needs _typer above

app.add_typer(stories_app, name="stories")
from worker.cli_actors import actors_app  # noqa: E402 -- it builds on _typer above

app.add_typer(actors_app, name="actors")


def main() -> None:
    app(prog_name="newsmon")
