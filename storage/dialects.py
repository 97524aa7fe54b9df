"""Dialect-specific INSERT ... ON CONFLICT, the one place storage chooses between SQLite and PostgreSQL syntax."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """An INSERT construct for `table` that supports `on_conflict_do_nothing/do_update` on this session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def affected_rows(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched (DML statements return a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount
