"""The admin CLI: a thin layer over the use cases in :mod:`feeds.pipeline`.

Commands parse arguments, call the library and print. Every :class:`NewsmonError` becomes
one line on stderr and exit status 1; usage errors exit with 2. The command names, flags
and JSON shapes are a public contract: extend, never rename.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from feeds.errors import InvalidInput, NewsmonError
from feeds.pipeline import Pipeline
from storage.repository import SqlStore
from worker import bootstrap
from worker.cli_output import console, err_console, feed_table, print_pass
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
subs_app = _typer("Manage digest subscriptions.")
digest_app = _typer("Preview and send digests.")
app.add_typer(feeds_app, name="feeds")
app.add_typer(subs_app, name="subscriptions")
app.add_typer(digest_app, name="digest")


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
) -> None:
    """Add a feed by its URL."""
    c = bootstrap.container()
    with c.store.transaction() as repo:
        feed = repo.add_feed(_check_url(url), title, c.pipeline.clock.now())
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
) -> None:
    """Poll feeds once: fetch, parse, deduplicate, analyse, store."""
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

        enqueue_pass(bootstrap.container(), sources, wait=wait, timeout=timeout)
        return
    started = time.monotonic()
    report = pipeline.poll_pass(sources)
    print_pass(report, time.monotonic() - started)


@app.command("run")
def run(
    tick: Annotated[float, typer.Option(help="Seconds between scheduler checks.")] = 30.0,
) -> None:
    """Embedded scheduler: poll due feeds and send due digests until stopped (Ctrl-C)."""
    from worker.embedded import run_forever

    run_forever(bootstrap.container(), tick=tick)


@app.command(
    "worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker (extra arguments go to Celery)."""
    from worker.celery_app import app as celery

    celery.worker_main(
        ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", *ctx.args]
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

    analyzer = bootstrap.load_analyzer(bootstrap.current_settings())
    analyze_stream(analyzer, input_, output)


# --------------------------------------------------------------------------- subscriptions


@subs_app.command("add")
def subscriptions_add(
    name: str,
    email: Annotated[list[str], typer.Option(help="Recipient; repeat for several.")],
    schedule: Annotated[str, typer.Option(help="daily | weekly | immediate")] = "daily",
    at: Annotated[str, typer.Option(help="Local time HH:MM.")] = "08:00",
    tz: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    day: Annotated[str, typer.Option(help="Weekly: day of the week.")] = "monday",
    topic: Annotated[list[str] | None, typer.Option(help="Topic code or label.")] = None,
    actor: Annotated[list[str] | None, typer.Option(help="Actor name.")] = None,
) -> None:
    """Add a digest subscription."""
    from worker.admin import add_subscription

    sub = add_subscription(
        bootstrap.container(), name, email, schedule, at, tz, day, topic or [], actor or []
    )
    console.print(f"added subscription {sub.name} ({sub.spec.schedule})", markup=False)


@subs_app.command("list")
def subscriptions_list() -> None:
    """List subscriptions."""
    with _store().transaction() as repo:
        subs = repo.list_subscriptions()
    if not subs:
        console.print("no subscriptions yet", markup=False)
    for s in subs:
        spec = s.spec
        filters = ", ".join(
            [*(f"topic={t}" for t in spec.topics), *(f"actor={a}" for a in spec.actors)]
        )
        console.print(
            f"{s.name}: {spec.schedule} at {spec.at} {spec.tz} -> {', '.join(spec.emails)}"
            f"{' [' + filters + ']' if filters else ''}{' (paused)' if s.paused else ''}",
            markup=False,
            highlight=False,
        )


@subs_app.command("remove")
def subscriptions_remove(name: str) -> None:
    """Remove a subscription."""
    with _store().transaction() as repo:
        repo.remove_subscription(name)
    console.print(f"removed subscription {name}", markup=False)


# --------------------------------------------------------------------------- digests


@digest_app.command("preview")
def digest_preview(
    name: str,
    output: Annotated[Path | None, typer.Option(help="Write the HTML here.")] = None,
) -> None:
    """Render what the next digest holds so far (HTML to a file, text to stdout)."""
    preview = _pipeline().preview_digest(name)
    if output is not None:
        output.write_text(preview.html, encoding="utf-8")
        console.print(
            f"{preview.subject}\nwrote {len(preview.articles)} articles to {output}",
            markup=False,
        )
    else:
        sys.stdout.write(preview.text)


@digest_app.command("send")
def digest_send(name: str) -> None:
    """Send the digest of the last completed period (at most once per period)."""
    outcome = _pipeline().send_digest(name)
    messages = {
        "sent": f"sent {outcome.articles} articles for {outcome.period.key}",
        "skipped": f"nothing new for {outcome.period.key}; no email sent",
        "already_sent": f"the digest for {outcome.period.key} was already sent",
        "failed": f"sending failed: {outcome.error}",
    }
    console.print(messages[outcome.status], markup=False)
    if outcome.status == "failed":
        raise typer.Exit(1)


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


from worker.cli_actors import actors_app  # noqa: E402 -- it builds on _typer above

app.add_typer(actors_app, name="actors")


def main() -> None:
    app(prog_name="newsmon")
