"""The process's database: one engine and session factory, migrated to the newest schema on first use."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from flows.settings import PROJECT_ROOT, get_settings
from newsmon_errors import ConfigurationError, redact_url
from storage.engine import create_db_engine, make_session_factory, read_only

SUPPORTED_DATABASES = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"

logger = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x6E65_7773_6D6F_6E01
"""PostgreSQL advisory lock key (a bigint) held while migrating: "newsmon" and 1."""


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration for the project's migrations, bound to `engine`'s URL."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest schema revision this version of newsmon ships."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade_database(engine: Engine) -> tuple[str | None, str | None]:
    """Apply pending migrations; returns (revision before, revision after).

    Under a lock, so processes starting together on an empty database migrate it once (issue 16, item 3): on
    PostgreSQL an advisory lock held to the end of the migrating transaction, on SQLite the write lock that BEGIN
    IMMEDIATE takes. The revision is read again once the lock is held: another process may just have migrated."""
    head = head_revision(engine)
    if current_revision(engine) == head:
        return head, head
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = MigrationContext.configure(connection).get_current_revision()
        if before != head:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    if before != head:
        logger.info("database migrated from %s to %s", before or "empty", head)
    return before, head


def open_engine(url: str) -> Engine:
    """The engine for `url` (NEWSMON_DATABASE_URL); a URL newsmon cannot use is a ConfigurationError that says which
    databases it supports, not a driver's ImportError."""
    shown = redact_url(url)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigurationError(
            f"NEWSMON_DATABASE_URL={shown!r} is not a database URL: use {SUPPORTED_DATABASES}"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"NEWSMON_DATABASE_URL: {backend} is not supported: newsmon runs on SQLite or PostgreSQL "
            f"({SUPPORTED_DATABASES})"
        )
    try:
        engine = create_db_engine(url)
    except (NoSuchModuleError, ImportError) as error:
        raise ConfigurationError(
            f"NEWSMON_DATABASE_URL={shown!r}: its driver is not available ({error}): use {SUPPORTED_DATABASES}"
        ) from None
    if engine.dialect.is_async:
        engine.dispose()
        raise ConfigurationError(
            f"NEWSMON_DATABASE_URL={shown!r}: {engine.dialect.driver} is an asyncio driver: use {SUPPORTED_DATABASES}"
        )
    return engine


@cache
def get_engine() -> Engine:
    """The engine for NEWSMON_DATABASE_URL; a new or outdated database is migrated first."""
    engine = open_engine(get_settings().database_url)
    upgrade_database(engine)
    return engine


@cache
def get_session_factory() -> sessionmaker[Session]:
    """The session factory for `get_engine()`."""
    return make_session_factory(get_engine())


@contextmanager
def read_only_session() -> Iterator[Session]:
    """A read-only transaction (on SQLite it does not take the write lock, so it never waits for an ingest)."""
    with Session(read_only(get_engine())) as session, session.begin():
        yield session
