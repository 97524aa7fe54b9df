"""Shared test fixtures: isolated settings, fresh SQLite files, and PostgreSQL databases on 127.0.0.1."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from storage.engine import create_db_engine
from storage.models import Base

# Prefect offline and quiet, and never the developer's own ~/.prefect (set before anything imports prefect).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

POSTGRES_ENV = "NEWSMON_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own SQLite database and settings, whatever the developer's environment holds."""
    from flows.database import get_engine, get_session_factory
    from flows.settings import get_settings

    for name in list(os.environ):
        if name.startswith("NEWSMON_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'newsmon.db'}")
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    yield
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()


def _postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if IN_CI:
            pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: .ci/run must provide a PostgreSQL database")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    return url


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the PostgreSQL server named by NEWSMON_TEST_POSTGRES_URL, to create databases."""
    engine = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        message = f"PostgreSQL at {POSTGRES_ENV} is not reachable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"newsmon_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(os.environ[POSTGRES_ENV]).set(database=name).render_as_string(hide_password=False)
    yield url
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrated_engine(url: str) -> Engine:
    """An engine on `url` with the schema applied through Alembic, as users get it."""
    from flows.database import upgrade_database

    engine = create_db_engine(url)
    upgrade_database(engine)
    return engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a fresh file."""
    engine = migrated_engine(f"sqlite:///{tmp_path / 'store.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_store(postgres_admin: Engine) -> Iterator[str]:
    name = f"newsmon_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(os.environ[POSTGRES_ENV]).set(database=name).render_as_string(hide_password=False)
    migrated_engine(url).dispose()
    yield url
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_engine(_postgres_store: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database, emptied before each test (faster than creating one per test)."""
    engine = create_db_engine(_postgres_store)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on a migrated SQLite file and on PostgreSQL."""
    fixture = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(fixture)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's own test harness (a temporary local server and database), started once per test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield
