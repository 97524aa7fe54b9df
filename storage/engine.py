"""Engine and session setup for SQLite (WAL, busy timeout, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "newsmon_read_only"
"""Execution option: a SQLite transaction that only reads starts deferred instead of taking the write lock."""


def create_db_engine(url: str, *, busy_timeout: float = 30.0, echo: bool = False) -> Engine:
    """Create the engine for `url`; on SQLite, set WAL, a busy timeout and take the write lock at BEGIN."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout})
        _configure_sqlite(engine, busy_timeout)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=_pg_connect_args(parsed.query))


def _pg_connect_args(query: Any) -> dict[str, Any]:
    # Fail fast when the server is down (docs/faults.md D3) instead of waiting for the OS TCP timeout.
    return {} if "connect_timeout" in query else {"connect_timeout": 10}


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred read-then-write transaction fails at once with "database is locked" under contention;
        # IMMEDIATE waits for the write lock up front, within the busy timeout (docs/faults.md D2).
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """One sessionmaker per engine; callers own transactions with `with factory.begin() as session:`."""
    return sessionmaker(engine, expire_on_commit=False)


def read_only(engine: Engine) -> Engine:
    """An engine view whose transactions only read (on SQLite they do not take the write lock)."""
    return engine.execution_options(**{READ_ONLY: True})
