"""Typed settings, read once per process in the composition root and passed inward.

Sources, highest priority first: ``NEWSMON_*`` environment variables, then the TOML file
named by ``NEWSMON_CONFIG`` (or ``--config``), then the defaults below. The embedded
defaults need nothing running: SQLite in the user's data directory, no broker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from feeds.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_database_url() -> str:
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{data_home / 'newsmon' / 'newsmon.db'}"


def _default_ingest_processes() -> int:
    # The polling process (fetch threads and the one writer) keeps a core busy by itself,
    # yet on 2 vCPUs two worker processes made a 200-feed first poll 24-58 % faster in
    # six runs of seven (the seventh level) once parsing was most of a pass (decision 54;
    # decision 35 had measured no gain on a loaded machine). Beyond two CPUs, one per CPU
    # left to the workers; at most four, the one writer limits.
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if not cpus or cpus < 2 else min(max(cpus - 1, 2), 4)


def _default_analysis_processes() -> int:
    # Analysis is CPU-bound and the calling process waits while the workers run, so one
    # worker per CPU (at most four: each holds its own models, about 230 MB).
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if not cpus or cpus < 2 else min(cpus, 4)


def _default_seeds_dir() -> Path:
    # An editable install or a checkout: seeds/ sits next to the packages. Otherwise the
    # current directory's seeds/ (for example a deployment's mounted folder).
    here = REPO_ROOT / "seeds"
    return here if here.is_dir() else Path.cwd() / "seeds"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSMON_", extra="forbid")

    database_url: str = Field(default_factory=_default_database_url)
    broker_url: str = "redis://127.0.0.1:6379/0"

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 30.0
    mail_from: str = "newsmon <newsmon@localhost>"

    allow_private_networks: bool = False
    poll_interval_minutes: float = Field(default=30.0, gt=0)
    retry_interval_minutes: float = Field(default=30.0, gt=0)
    fetch_concurrency: int = Field(default=8, ge=1, le=256)
    # Worker processes that parse and prepare fetched feeds in a pass (1: none).
    ingest_processes: int = Field(default_factory=_default_ingest_processes, ge=1, le=64)
    # Worker processes that analyse big batches in the embedded mode (1: in this process).
    analysis_processes: int = Field(default_factory=_default_analysis_processes, ge=1, le=64)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    fetch_deadline: float = Field(default=60.0, gt=0)
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    user_agent: str = "newsmon/0.1 (media monitoring; +https://github.com/newsmon)"

    # Fetch scheduling and politeness (docs/FETCHING.md).
    min_poll_interval_minutes: float = Field(default=10.0, gt=0)
    max_poll_interval_minutes: float = Field(default=1440.0, gt=0)
    max_retry_minutes: float = Field(default=1440.0, gt=0)  # cap of failure backoff
    retry_after_cap_minutes: float = Field(default=1440.0, gt=0)
    adopt_redirect_after: int = Field(default=3, ge=1)
    host_limiter: Literal["auto", "local", "redis"] = "auto"  # auto: redis in Celery workers
    host_limiter_url: str | None = None  # default: broker_url
    host_max_concurrency: int = Field(default=2, ge=1, le=64)
    host_min_spacing: float = Field(default=1.0, ge=0)  # seconds between request starts
    allowed_networks: list[str] = Field(default_factory=list)  # CIDRs exempt from the SSRF check
    full_text_per_poll: int = Field(default=10, ge=0)

    seeds_dir: Path = Field(default_factory=_default_seeds_dir)
    actors_file: Path | None = None  # default: <seeds_dir>/actors.toml
    topics_file: Path | None = None  # default: <seeds_dir>/topics.toml
    # Sentiment toward actors: "model" (the committed target-sentiment classifier) or
    # "lexicon" (VADER on the clause); discovery adds actors that are not on the watchlist.
    actor_sentiment: Literal["model", "lexicon"] = "model"
    # Which target-sentiment model: "cascade" (fast everywhere, accurate where a sentence
    # names several actors or the fast one is unsure: about twice the accurate model's
    # speed for most of its accuracy), "accurate" (fine-tuned mpnet, int8, 110 MB: the
    # best reading, 30-50 ms a target on one core), "fast" (fine-tuned MiniLM, 23 MB,
    # ~5 ms). docs/ACTORS.md, decision 48.
    target_model: Literal["accurate", "cascade", "fast"] = "cascade"
    discover_actors: bool = True

    # How often beat (and `newsmon run`'s default tick) looks for due feeds and digests.
    scheduler_tick_seconds: float = Field(default=60.0, gt=0)

    # Celery: the visibility timeout must exceed the longest task plus any countdown, or
    # Redis hands an unacknowledged task to a second worker while the first still runs.
    # Digests and alerts (docs/DIGESTS.md). The secret signs unsubscribe links: sending
    # refuses an empty or placeholder one. PUBLIC_URL is the https base of the one-click
    # endpoint; UNSUBSCRIBE_MAILTO an address whose mail the admin turns into
    # `newsmon subscriptions unsubscribe TOKEN`.
    unsubscribe_secret: SecretStr | None = None
    public_url: str | None = None
    unsubscribe_mailto: str | None = None
    # The web dashboard and API (docs/WEB.md). Without a token `newsmon web` serves only
    # loopback; with one, the API wants `Authorization: Bearer TOKEN` and the dashboard a
    # login. Each request's statements are cancelled after web_query_timeout seconds.
    web_token: SecretStr | None = None
    web_query_timeout: float = Field(default=10.0, gt=0, le=300)
    web_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    digest_lease_seconds: int = Field(default=600, ge=30)
    digest_max_attempts: int = Field(default=8, ge=1, le=50)
    digest_retry_seconds: int = Field(default=60, ge=1)

    task_soft_time_limit: int = 240
    task_time_limit: int = 300
    visibility_timeout: int = 3600
    # Reliability (docs/OPERATIONS.md): the longest countdown a task may be given (retry
    # backoff, deferred polls) counts against the visibility timeout; a task whose process
    # died this many times is parked; a queued poll holds its feed this long.
    task_max_countdown: int = Field(default=300, ge=1)
    max_task_crashes: int = Field(default=3, ge=1, le=100)
    poll_claim_minutes: float = Field(default=10.0, gt=0)
    unacked_restore_seconds: int = Field(default=30, ge=1)  # sweep for abandoned tasks

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
        return value

    @field_validator("public_url")
    @classmethod
    def _https_public_url(cls, value: str | None) -> str | None:
        if value and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (RFC 8058 one-click unsubscribe)")
        return value or None

    @property
    def actors_path(self) -> Path:
        return self.actors_file or self.seeds_dir / "actors.toml"

    @property
    def topics_path(self) -> Path:
        return self.topics_file or self.seeds_dir / "topics.toml"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = os.environ.get("NEWSMON_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings; every problem becomes one :class:`ConfigError` line."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist")
        os.environ["NEWSMON_CONFIG"] = str(config_file)
    path = os.environ.get("NEWSMON_CONFIG")
    if path and not Path(path).is_file():
        raise ConfigError(f"NEWSMON_CONFIG names {path}, which does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"bad setting {where} (NEWSMON_{where.upper()}): {first['msg']}"
        ) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigError(f"cannot read the config file {path}: {exc}") from None
