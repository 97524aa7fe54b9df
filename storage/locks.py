"""Run locks with a lease in the database: one holder at a time, a killed holder's lease expires by itself, and a
holder's writes can be fenced: checked against the lock inside their own transaction (issue 16, item 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from storage.dialects import affected_rows, insert_for
from storage.models import RunLock


def database_now(session: Session | Connection) -> datetime:
    """The database's clock (PostgreSQL's `now()`), so that leases taken and checked by workers on several machines do
    not depend on their clocks agreeing. SQLite is a file on this machine: its clock is this machine's."""
    dialect = session.get_bind().dialect if isinstance(session, Session) else session.dialect
    if dialect.name != "postgresql":
        return datetime.now(UTC)
    return session.execute(select(func.now())).scalar_one()


def acquire_lock(session: Session, name: str, holder: str, *, now: datetime | None = None, lease: timedelta) -> bool:
    """Take lock `name` for `holder` unless another holder's lease is still running (by the database's clock unless
    `now` is given)."""
    now = database_now(session) if now is None else now
    expires = now + lease
    # RETURNING says whether the row was inserted: the rowcount of INSERT ... ON CONFLICT DO NOTHING is -1 on
    # PostgreSQL through psycopg (and bool(-1) is true: the lock that did not lock, issue 16).
    taken = session.execute(
        insert_for(session, RunLock)
        .values(name=name, holder=holder, acquired_at=now, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(RunLock.name)
    ).scalar()
    if taken is not None:
        return True
    # The row exists: steal it only if its lease ran out (or we already hold it).
    # One conditional UPDATE, so two runs stealing an expired lease at once cannot both win.
    stolen = affected_rows(
        session.execute(
            update(RunLock)
            .where(RunLock.name == name, (RunLock.expires_at <= now) | (RunLock.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
    )
    return bool(stolen)


def renew_lock(session: Session, name: str, holder: str, *, now: datetime | None = None, lease: timedelta) -> bool:
    """Extend the lease of a lock we hold (from the database's clock unless `now` is given); False if we lost it."""
    now = database_now(session) if now is None else now
    return bool(
        affected_rows(
            session.execute(
                update(RunLock)
                .where(RunLock.name == name, RunLock.holder == holder, RunLock.expires_at > now)
                .values(expires_at=now + lease)
            )
        )
    )


def holds_lock(connection: Connection, name: str, holder: str) -> bool:
    """Whether `holder` holds lock `name` with its lease still running, checked inside the caller's transaction.

    On PostgreSQL the row is read FOR SHARE: a run stealing the lock waits until this transaction ends, so a write
    transaction that passed the check commits before anyone else holds the lock. On SQLite the transaction already
    holds the database's write lock (BEGIN IMMEDIATE)."""
    query = select(RunLock.holder).where(RunLock.name == name)
    if connection.dialect.name == "postgresql":
        query = query.where(RunLock.expires_at > func.now()).with_for_update(read=True)
    else:
        query = query.where(RunLock.expires_at > datetime.now(UTC))
    return connection.execute(query).scalar() == holder


def release_lock(session: Session, name: str, holder: str) -> None:
    """Release the lock if we still hold it."""
    session.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))
