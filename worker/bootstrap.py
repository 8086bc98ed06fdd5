"""The composition root: the one place where ports meet their adapters.

``build_container(settings)`` wires a :class:`feeds.usecases.pipeline.Pipeline` to SQL storage, the
httpx fetcher, the analyzer loaded from the seed files, SMTP and the system clock. Drivers
(CLI, embedded scheduler, Celery tasks) get their container from :func:`container`, which
builds it lazily once per *process*: a forked Celery child must not reuse its parent's
database connections or HTTP sockets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

from feeds.errors import ConfigError, MissingDatabase, NewsmonError
from feeds.models import (
    Actor,
    AnalysisResult,
    Document,
    TargetSentiment,
    TargetSpan,
    WatchedActor,
)
from worker.settings import Settings, load_settings

if TYPE_CHECKING:
    from feeds.analysis import ArticleAnalyzer
    from feeds.digest.unsubscribe import UnsubscribeConfig
    from feeds.fetch.http import HttpFetcher
    from feeds.fetch.policy import PollPolicy
    from feeds.ports import Analyzer, HostLimiter, TargetSentimentModel
    from feeds.usecases.pipeline import Pipeline
    from storage.repository import SqlStore


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    store: SqlStore
    fetcher: HttpFetcher
    pipeline: Pipeline
    host_limiter: HostLimiter | None = None

    def close(self) -> None:
        self.pipeline.close()  # its worker processes, if any
        self.fetcher.close()
        self.store.engine.dispose()
        close = getattr(self.host_limiter, "close", None)
        if close is not None:
            close()


def build_host_limiter(settings: Settings, *, celery_worker: bool = False) -> HostLimiter:
    """In-process limits (embedded) or Redis-shared ones (distributed); see docs/FETCHING.md.

    With ``NEWSMON_HOST_LIMITER=auto`` the Celery tasks' container (``celery_worker``)
    shares host limits through Redis and every other process keeps them in-process.
    """
    from feeds.fetch.politeness import LocalHostLimiter

    kind = settings.host_limiter
    if kind == "redis" or (kind == "auto" and celery_worker):
        from worker.celery.host_limiter import RedisHostLimiter

        return RedisHostLimiter(
            settings.host_limiter_url or settings.broker_url,
            max_concurrent=settings.host_max_concurrency,
            min_spacing=settings.host_min_spacing,
            lease_seconds=settings.fetch_deadline + 30,
        )
    return LocalHostLimiter(settings.host_max_concurrency, settings.host_min_spacing)


def build_policy(settings: Settings) -> PollPolicy:
    from feeds.fetch.policy import PollPolicy

    poll = timedelta(minutes=settings.poll_interval_minutes)
    low = timedelta(minutes=settings.min_poll_interval_minutes)
    high = timedelta(minutes=settings.max_poll_interval_minutes)
    if low > high:
        raise ConfigError(
            "NEWSMON_MIN_POLL_INTERVAL_MINUTES must not exceed NEWSMON_MAX_POLL_INTERVAL_MINUTES"
        )
    return PollPolicy(
        default_interval=min(max(poll, low), high),
        min_interval=low,
        max_interval=high,
        retry_interval=timedelta(minutes=settings.retry_interval_minutes),
        failure_cap=timedelta(minutes=settings.max_retry_minutes),
        retry_after_cap=timedelta(minutes=settings.retry_after_cap_minutes),
        hint_cap=high,
        adopt_redirect_after=settings.adopt_redirect_after,
    )


def _unreadable_seed(exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot read the seed file {exc.filename}: {exc.strerror}; "
        "set NEWSMON_SEEDS_DIR to the folder holding actors.toml and topics.toml"
    )


def seed_actors(settings: Settings) -> list[Actor]:
    """The watchlist from the seed file (without the user's changes)."""
    from feeds.analysis import parse_watchlist

    try:
        return parse_watchlist(settings.actors_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _unreadable_seed(exc) from None


def load_analyzer(
    settings: Settings, user_actors: Sequence[WatchedActor] = (), *, keyword_topics: bool = True
) -> ArticleAnalyzer:
    """Actors and sentiment toward them; ``user_actors`` (from the database) join the seed
    watchlist. Topics from the keyword rules unless ``keyword_topics`` is off (the wrapped
    analyzer of :func:`with_topics` replaces them, so scoring them is wasted work)."""
    from feeds.analysis import ArticleAnalyzer, parse_topic_rules
    from feeds.analysis.actor_list import merge_watchlist

    actors = seed_actors(settings)
    try:
        rules = parse_topic_rules(settings.topics_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _unreadable_seed(exc) from None
    return ArticleAnalyzer(
        merge_watchlist(actors, user_actors),
        rules if keyword_topics else (),
        target_model=build_target_model(settings) if settings.actor_sentiment == "model" else None,
        discover=settings.discover_actors,
    )


# The cascade's second rule: a reading of the fast model whose top class has less than
# this probability goes on to the accurate model. Fixed before measuring (decision 48).
UNSURE_BELOW = 0.7


def build_target_model(settings: Settings) -> TargetSentimentModel:
    """The target-sentiment model named by ``settings.target_model``."""
    # Imported here: ONNX Runtime is a large import that only analysing processes need.
    from feeds.analysis.targeted.cascade import CascadeTargetSentiment
    from feeds.analysis.targeted.onnx_model import (
        OnnxTargetSentiment,
        large_model_dir,
    )

    if settings.target_model == "fast":
        return OnnxTargetSentiment()
    # dynamic activation scales: one target a run, so a reading never depends on its batch
    accurate = OnnxTargetSentiment(large_model_dir(), batch=1)
    if settings.target_model == "accurate":
        return accurate
    return CascadeTargetSentiment(OnnxTargetSentiment(), accurate, unsure_below=UNSURE_BELOW)


def stored_actors(store: SqlStore) -> list[WatchedActor]:
    """The user's watchlist entries (added or hidden with ``newsmon actors``)."""
    with store.transaction() as repo:
        return repo.list_watched_actors()


def build_analyzer(settings: Settings, store: SqlStore, *, lazy: bool = True) -> Analyzer:
    """The analyzer a worker uses: the seed and the user's watchlist, IPTC and user topics.

    ``lazy``: the models are loaded on the first analysis, not now (see LazyAnalyzer); the
    seed files are read now either way, so a broken configuration still fails at start.
    """
    from worker.topics import with_topics

    seed_actors(settings)
    try:
        settings.topics_path.read_bytes()
    except OSError as exc:
        raise _unreadable_seed(exc) from None

    def build() -> Analyzer:
        return with_topics(
            load_analyzer(settings, stored_actors(store), keyword_topics=False), store
        )

    return LazyAnalyzer(build) if lazy else build()


def build_analyzer_for(settings: Settings) -> Analyzer:
    """:func:`build_analyzer`, models loaded, with its own connection (for an analysis
    worker process)."""
    from storage.db import make_engine
    from storage.repository import SqlStore

    return build_analyzer(settings, SqlStore(make_engine(settings.database_url)), lazy=False)


class LazyAnalyzer:
    """An :class:`~feeds.ports.Analyzer` built on first use.

    The models (target sentiment, IPTC vectors, VADER) take about 90 MB and a second of
    start-up; a process that never analyses -- ``poll --defer-analysis``, an ingest-only
    Celery worker, every admin command -- never loads them. The user's watchlist is read
    when the analyzer is built, i.e. at the first analysis.
    """

    def __init__(self, build: Callable[[], Analyzer]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._analyzer: Analyzer | None = None

    def _get(self) -> Analyzer:
        with self._lock:  # fetch threads and the CLI may reach it at once
            if self._analyzer is None:
                self._analyzer = self._build()
            return self._analyzer

    def analyze(self, doc: Document) -> AnalysisResult:
        return self._get().analyze(doc)

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalysisResult]:
        return self._get().analyze_many(docs)

    def target_sentiment(self, text: str, targets: Sequence[TargetSpan]) -> list[TargetSentiment]:
        return self._get().target_sentiment(text, targets)


@contextmanager
def fetcher() -> Iterator[HttpFetcher]:
    """A fetcher of the current settings for one command, closed after it."""
    built = build_fetcher(current_settings())
    try:
        yield built
    finally:
        built.close()


def build_fetcher(settings: Settings) -> HttpFetcher:
    from feeds.fetch.http import HttpFetcher

    return HttpFetcher(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        deadline=settings.fetch_deadline,
        max_bytes=settings.max_feed_bytes,
        user_agent=settings.user_agent,
        allow_private_networks=settings.allow_private_networks,
        allowed_networks=settings.allowed_networks,
    )


def open_store(
    settings: Settings,
    *,
    create: bool = True,
    migrate: bool = True,
    statement_timeout: float | None = None,
) -> SqlStore:
    """The database alone, migrated: all that a command which only reads or edits rows
    needs (``feeds list``, ``stories show``...), without the fetcher, mailer, pools and
    analysis of :func:`build_container`, or the time to import them."""
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.repository import SqlStore

    try:
        if migrate and statement_timeout is not None:
            # Migrations may rewrite whole tables: never under a request's time limit.
            plain = make_engine(settings.database_url, create=create)
            try:
                upgrade(plain, create=create)
            finally:
                plain.dispose()
            migrate = False
        engine = make_engine(
            settings.database_url, create=create, statement_timeout=statement_timeout
        )
        if migrate:
            upgrade(engine, create=create)
    except MissingDatabase as exc:
        raise MissingDatabase(
            f"{exc}; check NEWSMON_DATABASE_URL (or database_url in the settings file), "
            "or create a new database with `newsmon init`"
        ) from None
    return SqlStore(engine)


def build_container(
    settings: Settings,
    *,
    clock: SystemClock | None = None,
    migrate: bool = True,
    celery_worker: bool = False,
    create: bool = True,
    statement_timeout: float | None = None,
) -> Container:
    """Everything a driver needs. Without ``create`` the database must already exist
    (:class:`MissingDatabase` otherwise): commands that only read or edit never make one."""
    from feeds.usecases.deliver import DeliverySettings
    from feeds.usecases.pipeline import Pipeline
    from worker.mailer import SmtpMailer
    from worker.pools.analysis import ProcessAnalysisPool
    from worker.pools.ingest import ProcessPreparePool

    store = open_store(
        settings, create=create, migrate=migrate, statement_timeout=statement_timeout
    )
    fetcher = build_fetcher(settings)
    host_limiter = build_host_limiter(settings, celery_worker=celery_worker)
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
    analyzer = build_analyzer(settings, store)
    # Celery's --concurrency already gives a worker its processes; the pool is for the
    # embedded mode's one process (worker/pools/analysis.py).
    analysis_pool = (
        ProcessAnalysisPool(settings, settings.analysis_processes, analyzer, build_analyzer_for)
        if settings.analysis_processes > 1 and not celery_worker
        else None
    )
    pipeline = Pipeline(
        store=store,
        fetcher=fetcher,
        analyzer=analyzer,
        analysis_pool=analysis_pool,
        clock=clock or SystemClock(),
        mailer=mailer,
        mail_from=settings.mail_from,
        message_id_domain=domain,
        poll_interval=timedelta(minutes=settings.poll_interval_minutes),
        retry_interval=timedelta(minutes=settings.retry_interval_minutes),
        fetch_concurrency=settings.fetch_concurrency,
        # Not in a Celery worker either: its tasks' batches of up to 20 feeds would each
        # start processes of their own inside every prefork child.
        ingest_pool=(
            ProcessPreparePool(settings.ingest_processes)
            if settings.ingest_processes > 1 and not celery_worker
            else None
        ),
        unsubscribe=unsubscribe_config(settings),
        delivery=DeliverySettings(
            lease=timedelta(seconds=settings.digest_lease_seconds),
            max_attempts=settings.digest_max_attempts,
            backoff_base=timedelta(seconds=settings.digest_retry_seconds),
        ),
        policy=build_policy(settings),
        host_limiter=host_limiter,
        full_text_per_poll=settings.full_text_per_poll,
        claim_window=timedelta(minutes=settings.poll_claim_minutes),
    )
    return Container(settings, store, fetcher, pipeline, host_limiter)


def unsubscribe_config(settings: Settings) -> UnsubscribeConfig:
    from feeds.digest.unsubscribe import UnsubscribeConfig
    from worker.mailer import validate_address

    secret = settings.unsubscribe_secret
    mailto = validate_address(settings.unsubscribe_mailto) if settings.unsubscribe_mailto else None
    return UnsubscribeConfig(
        secret=secret.get_secret_value() if secret else "",
        public_url=settings.public_url,
        mailto=parseaddr(mailto)[1] if mailto else None,
    )


_lock = threading.Lock()
_current: tuple[int, Container] | None = None
_store: tuple[int, SqlStore] | None = None
_settings_override: Settings | None = None


def configure(settings: Settings | None = None) -> None:
    """Choose the settings the next :func:`container` is built from (CLI ``--config``, tests)."""
    global _settings_override, _current, _store
    with _lock:
        _settings_override = settings
        if _current is not None and _current[0] == os.getpid():
            _current[1].close()
        if _store is not None and _store[0] == os.getpid():
            _store[1].engine.dispose()
        _current = None
        _store = None


def current_settings() -> Settings:
    return _settings_override or load_settings()


def store() -> SqlStore:
    """This process's database for commands that need nothing else: the container's store
    if one is built, else a store of its own (never creates the database)."""
    global _store
    with _lock:
        if _current is not None and _current[0] == os.getpid():
            return _current[1].store
        if _store is None or _store[0] != os.getpid():
            _store = (os.getpid(), open_store(current_settings(), create=False))
        return _store[1]


@contextmanager
def creating() -> Iterator[Container]:
    """The container of a command that adds something, which may create the database.

    An add refused for its input (a bad address, a query that does not parse, an empty
    OPML file …) stored nothing, so an SQLite database it created is removed again: a
    mistyped ``NEWSMON_DATABASE_URL`` followed by a bad add must not leave an empty
    database that the next command takes for the real one."""
    from storage.db import new_sqlite_paths, remove_new_sqlite

    made = new_sqlite_paths(current_settings().database_url)
    c = container(create=True)
    try:
        yield c
    except NewsmonError:
        if made:
            configure(c.settings)  # closes its connections; the next command builds afresh
            remove_new_sqlite(made)
        raise


def container(*, celery_worker: bool = False, create: bool = True) -> Container:
    """This process's container, built on first use (``celery_worker``: by a Celery task;
    ``create``: the database may be created, see :func:`build_container`)."""
    global _current
    with _lock:
        if _current is None or _current[0] != os.getpid():
            built = build_container(current_settings(), celery_worker=celery_worker, create=create)
            _current = (os.getpid(), built)
        return _current[1]
