"""``newsmon tasks``: poison messages the Celery workers parked (see worker.celery.reliability)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from feeds.errors import ConfigError, NotFound
from worker.cli.base import command_group, container
from worker.cli.output import console

if TYPE_CHECKING:
    from worker.celery.reliability import CrashLedger

group = command_group("Tasks the workers parked after they crashed their process too often.")


def _ledger() -> CrashLedger:
    # Imported here: it pulls in Celery, which no other admin command needs at start-up.
    from worker import bootstrap
    from worker.celery.reliability import CrashLedger

    settings = bootstrap.current_settings()
    return CrashLedger(settings.broker_url, max_crashes=settings.max_task_crashes)


def _broker_error(exc: Exception) -> ConfigError:
    from worker import bootstrap

    where = bootstrap.current_settings().broker_url.split("@")[-1]
    return ConfigError(f"cannot reach the broker at {where} ({exc}); is Redis running?")


@group.command("parked")
def parked() -> None:
    """List parked tasks (a parked poll has also paused its feed)."""
    import redis

    ledger = _ledger()
    try:
        items = ledger.parked()
    except redis.RedisError as exc:
        raise _broker_error(exc) from None
    finally:
        ledger.close()
    if not items:
        console.print("no parked tasks", markup=False)
    for item in items:
        console.print(item.describe(), markup=False, highlight=False)


@group.command("unpark")
def unpark(task_id: str) -> None:
    """Queue a parked task again (after the fix); a parked poll's feed is resumed."""
    import redis

    from feeds.usecases import feeds as feed_list
    from worker.celery.app import app as celery
    from worker.celery.reliability import polled_feeds

    ledger = _ledger()
    try:
        item = ledger.unpark(task_id)
    except redis.RedisError as exc:
        raise _broker_error(exc) from None
    finally:
        ledger.close()
    if item is None:
        raise NotFound(f"no parked task {task_id}; `newsmon tasks parked` lists them")
    for feed_id in polled_feeds(item.name, item.args):
        feed_list.set_paused(container().store, feed_id, False)
    celery.send_task(item.name, args=item.args, kwargs=item.kwargs)
    console.print(f"queued {item.name} again", markup=False)
