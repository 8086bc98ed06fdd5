"""The composition root: the one place where ports meet their adapters.

``build_container(settings)`` wires a :class:`feeds.pipeline.Pipeline` to SQL storage, the
httpx fetcher, the analyzer loaded from the seed files, SMTP and the system clock. Drivers
(CLI, embedded scheduler, Celery tasks) get their container from :func:`container`, which
builds it lazily once per *process*: a forked Celery child must not reuse its parent's
database connections or HTTP sockets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from feeds.analysis import LexiconAnalyzer, parse_topic_rules, parse_watchlist
from feeds.analysis.actor_list import merge_watchlist
from feeds.analysis.targeted.onnx_model import OnnxTargetSentiment
from feeds.errors import ConfigError
from feeds.fetch import HttpFetcher
from feeds.models import Actor, WatchedActor
from feeds.pipeline import Pipeline
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import SqlStore
from worker.mailer import SmtpMailer
from worker.settings import Settings, load_settings


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    store: SqlStore
    fetcher: HttpFetcher
    pipeline: Pipeline

    def close(self) -> None:
        self.fetcher.close()
        self.store.engine.dispose()


def _unreadable_seed(exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot read the seed file {exc.filename}: {exc.strerror}; "
        "set NEWSMON_SEEDS_DIR to the folder holding actors.toml and topics.toml"
    )


def seed_actors(settings: Settings) -> list[Actor]:
    """The watchlist from the seed file (without the user's changes)."""
    try:
        return parse_watchlist(settings.actors_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _unreadable_seed(exc) from None


def load_analyzer(settings: Settings, user_actors: Sequence[WatchedActor] = ()) -> LexiconAnalyzer:
    """The analyzer for ``settings``; ``user_actors`` (from the database) join the seed list."""
    actors = seed_actors(settings)
    try:
        rules = parse_topic_rules(settings.topics_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _unreadable_seed(exc) from None
    return LexiconAnalyzer(
        merge_watchlist(actors, user_actors),
        rules,
        target_model=OnnxTargetSentiment() if settings.actor_sentiment == "model" else None,
        discover=settings.discover_actors,
    )


def stored_actors(store: SqlStore) -> list[WatchedActor]:
    """The user's watchlist entries (added or hidden with ``newsmon actors``)."""
    with store.transaction() as repo:
        return repo.list_watched_actors()


def build_container(
    settings: Settings,
    *,
    clock: SystemClock | None = None,
    migrate: bool = True,
) -> Container:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    store = SqlStore(engine)
    fetcher = HttpFetcher(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        deadline=settings.fetch_deadline,
        max_bytes=settings.max_feed_bytes,
        user_agent=settings.user_agent,
        allow_private_networks=settings.allow_private_networks,
    )
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        ssl=settings.smtp_ssl,
        timeout=settings.smtp_timeout,
    )
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "newsmon.localhost"
    pipeline = Pipeline(
        store=store,
        fetcher=fetcher,
        analyzer=load_analyzer(settings, stored_actors(store)),
        clock=clock or SystemClock(),
        mailer=mailer,
        mail_from=settings.mail_from,
        message_id_domain=domain,
        poll_interval=timedelta(minutes=settings.poll_interval_minutes),
        retry_interval=timedelta(minutes=settings.retry_interval_minutes),
        fetch_concurrency=settings.fetch_concurrency,
    )
    return Container(settings, store, fetcher, pipeline)


_lock = threading.Lock()
_current: tuple[int, Container] | None = None
_settings_override: Settings | None = None


def configure(settings: Settings | None = None) -> None:
    """Choose the settings the next :func:`container` is built from (CLI ``--config``, tests)."""
    global _settings_override, _current
    with _lock:
        _settings_override = settings
        if _current is not None and _current[0] == os.getpid():
            _current[1].close()
        _current = None


def current_settings() -> Settings:
    return _settings_override or load_settings()


def container() -> Container:
    global _current
    with _lock:
        if _current is None or _current[0] != os.getpid():
            _current = (os.getpid(), build_container(current_settings()))
        return _current[1]
