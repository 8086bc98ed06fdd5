"""The admin CLI (``newsmon``): a thin layer over the use cases.

Commands parse arguments, call a use case (:mod:`feeds.usecases`, the pipeline) and print;
none opens a transaction. Every :class:`NewsmonError` becomes one line on stderr and exit
status 1; usage errors exit with 2. The command names, flags and JSON shapes are a public
contract: extend, never rename.

One module per command group (``feeds``, ``digest`` with ``subscriptions``, ``topics``,
``stories``, ``actors``, ``tasks``) and two for the top-level commands (``operations``:
init, poll, run, worker, beat, status, prune, demo; ``analysis``: reanalyze, export, analyze;
``web``: the dashboard and API server);
``base`` has the one group factory and the one ``--since`` parser, ``output`` the
printing. This module only assembles them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from worker.cli import (
    actors,
    analysis,
    digest,
    feeds,
    operations,
    stories,
    tasks,
    topics,
    web,
)
from worker.cli.base import command_group

__all__ = ["app", "main"]

app = command_group("newsmon: monitor news feeds, classify stories, send digests.")

# Registration order is the order of `newsmon --help`.
app.add_typer(feeds.group, name="feeds")
app.add_typer(digest.subscriptions_group, name="subscriptions")
app.add_typer(digest.digest_group, name="digest")
app.add_typer(topics.group, name="topics")
app.command("init")(operations.init)
app.command("status")(operations.status)
app.command("prune")(operations.prune)
app.add_typer(tasks.group, name="tasks")
app.command("reanalyze")(analysis.reanalyze)
app.command("poll")(operations.poll)
app.command("run")(operations.run)
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
app.command("worker", context_settings=_PASS_THROUGH)(operations.worker)
app.command("beat", context_settings=_PASS_THROUGH)(operations.beat)
app.command("export")(analysis.export)
app.command("analyze")(analysis.analyze)
app.command("demo")(operations.demo)
app.add_typer(stories.group, name="stories")
app.add_typer(actors.group, name="actors")
app.command("web")(web.web)


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML settings file (else NEWSMON_CONFIG)."),
    ] = None,
) -> None:
    if config is not None:
        from worker import bootstrap
        from worker.settings import load_settings

        bootstrap.configure(load_settings(config))


def main() -> None:
    app(prog_name="newsmon")
