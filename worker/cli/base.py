"""What every command group shares: the group factory, the ``--since`` parser, the container.

Every group is made by :func:`command_group`, so every one reports a
:class:`feeds.errors.NewsmonError` the same way: one line on stderr, exit status 1
(usage errors exit with 2, an interrupt with 130).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from feeds.errors import NewsmonError
from feeds.when import parse_instant
from worker.cli.output import console, err_console

if TYPE_CHECKING:
    from storage.repository import SqlStore
    from worker.bootstrap import Container

# The composition root, storage and the use cases are imported by the commands that use
# them, not here: `newsmon --help` and a mistyped command should start like a small tool.

# Exit statuses, documented in docs/OPERATIONS.md ("Exit statuses"): 0 success, 1 an error
# reported on stderr, 2 a usage error, 3 a poll in which every feed failed, 130 interrupted.
EXIT_ERROR = 1
EXIT_ALL_FEEDS_FAILED = 3
EXIT_INTERRUPTED = 130


class _Group(TyperGroup):
    """Turns our errors into one line and an exit status, wherever they are raised."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context is private
        try:
            return super().invoke(ctx)
        except NewsmonError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err_console.print("interrupted", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None


def command_group(help_text: str) -> typer.Typer:
    """A command group (or the root) with the CLI's common settings."""
    return typer.Typer(
        cls=_Group,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
    )


def parse_since(value: str | None) -> datetime | None:
    """A ``--since`` value: an ISO date or time, UTC unless it names its offset."""
    return parse_instant(value, "--since")


def container(*, create: bool = False) -> Container:
    """This process's container (built on first use from the settings).

    Only the commands that add something pass ``create``: the others fail with
    :class:`feeds.errors.MissingDatabase` on a database that is not there, so a mistyped
    URL never looks like an empty feed list."""
    from worker import bootstrap

    return bootstrap.container(create=create)


def store() -> SqlStore:
    """The database alone, for commands that only read or edit rows (they start faster
    than with the whole :func:`container`); never creates the database."""
    from worker import bootstrap

    return bootstrap.store()


@contextmanager
def adding() -> Iterator[Container]:
    """The container of a command that adds something (see :func:`worker.bootstrap.creating`:
    a database it created is removed again when the add is refused)."""
    from worker import bootstrap

    with bootstrap.creating() as c:
        yield c


def say(text: str) -> None:
    """One plain line on stdout: no markup, no highlighting, no wrapping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)
