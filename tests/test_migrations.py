"""Migrations build the whole schema on empty SQLite and PostgreSQL databases, match the models, and reverse."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from flows.database import alembic_config, current_revision, head_revision, upgrade_database
from storage.engine import create_db_engine
from storage.models import Base
from storage.search import include_schema_name

VIEWS = {"story_tags", "daily_tag_counts", "story_relevance", "story_developments"}


def _check_round_trip(url: str) -> None:
    engine = create_db_engine(url)
    try:
        assert current_revision(engine) is None
        upgrade_database(engine)
        assert current_revision(engine) == head_revision(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": include_schema_name})
            drift = compare_metadata(context, Base.metadata)
            assert drift == [], f"models and migrations differ: {drift}"
            inspector = inspect(connection)
            assert set(inspector.get_view_names()) == VIEWS
            assert {table.name for table in Base.metadata.sorted_tables} <= set(inspector.get_table_names())
            columns = {view: [c["name"] for c in inspector.get_columns(view)] for view in VIEWS}
        assert columns == {
            "story_tags": ["story_id", "kind", "name", "mentions", "watched"],
            "daily_tag_counts": ["day", "kind", "name", "stories"],
            "story_relevance": ["story_id", "monitor", "score", "relevant"],
            "story_developments": ["story_id", "development_id"],
        }
        with engine.begin() as connection:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        with engine.connect() as connection:
            inspector = inspect(connection)
            assert set(inspector.get_table_names()) <= {"alembic_version"}
            assert inspector.get_view_names() == []
        upgrade_database(engine)
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_sqlite_upgrade_check_downgrade_upgrade(tmp_path: Path) -> None:
    _check_round_trip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_postgresql_upgrade_check_downgrade_upgrade(fresh_postgres_url: str) -> None:
    _check_round_trip(fresh_postgres_url)


_MIGRATE = """
import sys, time
from flows.database import get_engine
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))  # all three start migrating at the same instant
engine = get_engine()
engine.dispose()
"""


@pytest.mark.postgres
def test_three_processes_migrating_an_empty_postgresql_database_at_once_all_succeed(fresh_postgres_url: str) -> None:
    # The ingest and digest deployments starting together on a fresh database (issue 16, item 3): without a lock,
    # one succeeded and two failed with UniqueViolation on pg_type.
    env = {**os.environ, "NEWSMON_DATABASE_URL": fresh_postgres_url}
    start = time.time() + 15  # after the imports (slow under load)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in processes]
    for process in processes:
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in outcomes] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    engine = create_db_engine(fresh_postgres_url)
    try:
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()
