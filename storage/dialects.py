"""What differs between SQLite and PostgreSQL, and what both accept: which one a session talks to, dialect-specific
INSERT ... ON CONFLICT, PostgreSQL advisory transaction locks, and IN lists cut into chunks far below either
database's parameter limit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

T = TypeVar("T")

CHUNK = 500
"""Ids per IN list: far below SQLite's and PostgreSQL's parameter limits."""


def is_postgresql(session: Session) -> bool:
    """Whether `session` talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def insert_for(session: Session, table: Any) -> Any:
    """An INSERT construct for `table` that supports `on_conflict_do_nothing/do_update` on this session's database."""
    if is_postgresql(session):
        return postgresql.insert(table)
    return sqlite.insert(table)


def lock_key(value: str | int) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for a string or an integer of any size."""
    if isinstance(value, str):
        return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big", signed=True)
    return (value + 2**63) % 2**64 - 2**63


def lock_keys(session: Session, keys: Iterable[str | int]) -> None:
    """Hold advisory locks on `keys` until this transaction ends (PostgreSQL); nothing on SQLite, where BEGIN
    IMMEDIATE already serialises writers. Taken in ascending order, so two transactions cannot deadlock on them."""
    if not is_postgresql(session):
        return
    ordered = sorted({lock_key(key) for key in keys})
    if ordered:
        # One executemany: psycopg pipelines the statements, still one after another in this order.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), [{"key": key} for key in ordered])


def affected_rows(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE touched (DML statements return a CursorResult). Not for INSERT ... ON CONFLICT: its
    rowcount is -1 on PostgreSQL through psycopg; use RETURNING there."""
    return cast(CursorResult[Any], result).rowcount


def chunks(items: Sequence[T], size: int = CHUNK) -> list[list[T]]:
    """`items` in consecutive lists of at most `size` (by default, ids for one IN list)."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]
