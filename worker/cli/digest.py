"""The ``subscriptions`` and ``digest`` command groups (registered by :mod:`worker.cli`).

Thin, like the rest of the CLI: parse, call the subscription use cases
(:mod:`feeds.usecases.subscriptions`) or the digest service (through the pipeline), print.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from feeds.errors import InvalidInput
from feeds.models import Subscription
from worker.cli.base import adding, command_group, container, store
from worker.cli.base import say as _say
from worker.cli.output import plural

subscriptions_group = command_group("Manage digest subscriptions.")
digest_group = command_group("Preview and send digests and alerts.")


TopicOpt = Annotated[list[str] | None, typer.Option("--topic", help="Topic code or label.")]
ActorOpt = Annotated[list[str] | None, typer.Option("--actor", help="Actor name.")]
QueryOpt = Annotated[list[str] | None, typer.Option("--query", help="Monitoring query name.")]
SentimentOpt = Annotated[
    list[str] | None,
    typer.Option("--sentiment", help="Only coverage that is negative | neutral | positive."),
]
OutletOpt = Annotated[list[str] | None, typer.Option("--outlet", help="Feed title, host or id.")]


# --------------------------------------------------------------------------- subscriptions


@subscriptions_group.command("add")
def subscriptions_add(
    name: str,
    email: Annotated[list[str], typer.Option(help="Recipient; repeat for several.")],
    schedule: Annotated[str, typer.Option(help="daily | weekly | immediate")] = "daily",
    at: Annotated[str, typer.Option(help="Local time HH:MM.")] = "08:00",
    tz: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    day: Annotated[str, typer.Option(help="Weekly: day of the week.")] = "monday",
    topic: TopicOpt = None,
    actor: ActorOpt = None,
    query: QueryOpt = None,
    sentiment: SentimentOpt = None,
    outlet: OutletOpt = None,
    spike_alerts: Annotated[
        bool, typer.Option("--spike-alerts", help="Also mail spike alerts for --actor.")
    ] = False,
) -> None:
    """Add a digest subscription."""
    from feeds.usecases import subscriptions
    from worker.mailer import validate_address

    with adding() as c:
        sub = subscriptions.add_subscription(
            c.store,
            c.pipeline.clock.now(),
            validate_address,
            name,
            email,
            schedule,
            at,
            tz,
            day,
            topic or [],
            actor or [],
            queries=query or [],
            sentiments=sentiment or [],
            outlets=outlet or [],
            spike_alerts=spike_alerts,
        )
    _say(f"added subscription {sub.name} ({sub.spec.schedule})")


def _filters(sub: Subscription) -> str:
    spec = sub.spec
    return ", ".join(
        [
            *(f"topic={t}" for t in spec.topics),
            *(f"actor={a}" for a in spec.actors),
            *(f"query={q}" for q in spec.queries),
            *(f"sentiment={s}" for s in spec.sentiments),
            *(f"outlet={o}" for o in spec.outlets),
            *(["spike-alerts"] if spec.spike_alerts else []),
        ]
    )


@subscriptions_group.command("list")
def subscriptions_list() -> None:
    """List subscriptions."""
    from feeds.usecases import subscriptions

    subs = subscriptions.list_subscriptions(store())
    if not subs:
        _say("no subscriptions yet")
    for s in subs:
        spec = s.spec
        filters = _filters(s)
        _say(
            f"{s.name}: {spec.schedule} at {spec.at} {spec.tz} -> "
            f"{', '.join(spec.emails) or 'nobody (every recipient unsubscribed)'}"
            f"{' [' + filters + ']' if filters else ''}{' (paused)' if s.paused else ''}"
        )


@subscriptions_group.command("remove")
def subscriptions_remove(name: str) -> None:
    """Remove a subscription."""
    from feeds.usecases import subscriptions

    subscriptions.remove_subscription(store(), name)
    _say(f"removed subscription {name}")


@subscriptions_group.command("show")
def subscriptions_show(name: str) -> None:
    """Show a subscription, its recent deliveries and what its next digest would hold."""
    from feeds.digest.periods import current_period
    from feeds.usecases import subscriptions

    c = container()
    now = c.pipeline.clock.now()
    sub, runs = subscriptions.subscription_runs(c.store, name, runs=5)
    spec = sub.spec
    when = {
        "daily": f"daily at {spec.at}",
        "weekly": f"weekly on {subscriptions.WEEKDAYS[spec.weekday]} at {spec.at}",
        "immediate": "immediate (batched every 5 minutes)",
    }[spec.schedule]
    _say(f"{sub.name}{' (paused)' if sub.paused else ''}: {when} {spec.tz}")
    _say(f"  recipients: {', '.join(spec.emails) or '(none: everyone unsubscribed)'}")
    _say(f"  filters:    {_filters(sub) or '(none: everything)'}")
    _say(f"  last period: {current_period(spec, now).key}")
    for run in runs:
        extra = f" ({run.error})" if run.error else ""
        _say(
            f"  run {run.period_key}: {run.status}, {plural(run.article_count, 'article')}, "
            f"{run.attempts} attempt(s){extra}"
        )
    preview = c.pipeline.preview_digest(name)
    _say(f"next digest so far ({preview.period.start:%Y-%m-%d %H:%M} UTC until now):")
    _say(f"  subject: {preview.subject}")
    headlines = [line[2:] for line in preview.text.splitlines() if line.startswith("* ")]
    for title in headlines[:10]:
        _say(f"  - {title}")
    if len(headlines) > 10:
        _say(f"  … and {len(headlines) - 10} more")


def _set_paused(name: str, paused: bool) -> None:
    from feeds.usecases import subscriptions

    subscriptions.set_paused(store(), name, paused)
    _say(f"{'paused' if paused else 'resumed'} subscription {name}")


@subscriptions_group.command("pause")
def subscriptions_pause(name: str) -> None:
    """Stop sending this subscription's digests and alerts (keeps everything)."""
    _set_paused(name, True)


@subscriptions_group.command("resume")
def subscriptions_resume(name: str) -> None:
    """Send this subscription's digests again, from the next period on."""
    _set_paused(name, False)


@subscriptions_group.command("filters")
def subscriptions_filters(
    name: str,
    topic: TopicOpt = None,
    actor: ActorOpt = None,
    query: QueryOpt = None,
    sentiment: SentimentOpt = None,
    outlet: OutletOpt = None,
    spike_alerts: Annotated[
        bool | None, typer.Option("--spike-alerts/--no-spike-alerts", help="Spike alerts.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Drop every filter first.")] = False,
) -> None:
    """Replace a subscription's filters: each option given replaces that kind of filter."""
    from feeds.usecases import subscriptions

    sub = subscriptions.change_filters(
        store(),
        name,
        topics=topic,
        actors=actor,
        queries=query,
        sentiments=sentiment,
        outlets=outlet,
        spike_alerts=spike_alerts,
        clear=clear,
    )
    _say(f"{sub.name}: {_filters(sub) or '(no filters)'}")


@subscriptions_group.command("unsubscribe")
def subscriptions_unsubscribe(token: str) -> None:
    """Remove the recipient named by an unsubscribe TOKEN (from a digest's link)."""
    result = container().pipeline.digests().unsubscribe_token(token)
    if not result.removed:
        where = result.subscription or "that subscription (it no longer exists)"
        _say(f"{result.recipient} was already unsubscribed from {where}")
        return
    _say(
        f"unsubscribed {result.recipient} from {result.subscription}"
        + ("; no recipients are left, so the subscription is paused" if result.paused else "")
    )


# --------------------------------------------------------------------------- digests


@digest_group.command("preview")
def digest_preview(
    name: str,
    output: Annotated[Path | None, typer.Option(help="Write the digest here.")] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", help="html | text (default: html with --output, text on stdout)"),
    ] = None,
) -> None:
    """Render what the next digest holds so far (HTML with the charts, or the text part)."""
    fmt = format_ or ("html" if output is not None else "text")
    if fmt not in ("html", "text"):
        raise InvalidInput(f"--format {fmt!r}: use html or text")
    preview = container().pipeline.preview_digest(name)
    body = preview.html_for_file() if fmt == "html" else preview.text
    if output is None:
        sys.stdout.write(body)
        return
    try:
        output.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {output}: {exc.strerror}") from None
    _say(f"{preview.subject}\nwrote {plural(len(preview.articles), 'article')} to {output}")


@digest_group.command("send")
def digest_send(name: str) -> None:
    """Send the digest of the last completed period (once per period and recipient)."""
    outcome = container().pipeline.send_digest(name)
    messages = {
        "sent": f"sent {plural(outcome.articles, 'article')} for {outcome.period.key}",
        "skipped": f"nothing new for {outcome.period.key}; no email sent",
        "already_sent": f"the digest for {outcome.period.key} was already sent",
        "deferred": f"another sender is delivering {outcome.period.key} right now",
        "failed": f"sending failed: {outcome.error}",
    }
    _say(messages[outcome.status])
    if outcome.status == "failed":
        raise typer.Exit(1)


@digest_group.command("spikes")
def digest_spikes() -> None:
    """Look for coverage spikes now and send the alerts (the scheduler does this too)."""
    outcomes = container().pipeline.send_spike_alerts()
    if not outcomes:
        _say("no current spikes")
    for o in outcomes:
        _say(f"{o.subscription} {o.period.key}: {o.status}")
