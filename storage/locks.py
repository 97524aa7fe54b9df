"""Run locks with a lease in the database: one holder at a time, and a killed holder's lease expires by itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from storage.dialects import affected_rows, insert_for
from storage.models import RunLock


def acquire_lock(session: Session, name: str, holder: str, *, now: datetime, lease: timedelta) -> bool:
    """Take lock `name` for `holder` unless another holder's lease is still running."""
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


def renew_lock(session: Session, name: str, holder: str, *, now: datetime, lease: timedelta) -> bool:
    """Extend the lease of a lock we hold; False if we lost it."""
    return bool(
        affected_rows(
            session.execute(
                update(RunLock).where(RunLock.name == name, RunLock.holder == holder).values(expires_at=now + lease)
            )
        )
    )


def release_lock(session: Session, name: str, holder: str) -> None:
    """Release the lock if we still hold it."""
    session.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))
