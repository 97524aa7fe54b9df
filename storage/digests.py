"""Digest outbox: one row per recipient and period, leased while it is being sent, and the stories each digest
carries (fixed at its first claim, so a re-send carries the same ones)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage.dialects import affected_rows, chunks, insert_for
from storage.models import Digest, DigestStory

DONE_STATUSES = ("sent", "empty", "failed")
"""A digest in one of these states is finished: it is never claimed again."""


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One outbox row: a digest for one recipient and period, and its delivery state."""

    id: int
    recipient: str
    monitor: str
    period_start: datetime
    period_end: datetime
    status: str
    message_id: str
    story_count: int
    attempts: int
    last_error: str | None
    lease_expires_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


def _record(row: Digest) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        recipient=row.recipient,
        monitor=row.monitor,
        period_start=row.period_start,
        period_end=row.period_end,
        status=row.status,
        message_id=row.message_id,
        story_count=row.story_count,
        attempts=row.attempts,
        last_error=row.last_error,
        lease_expires_at=row.lease_expires_at,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


# ---- outbox ----------------------------------------------------------------------------------------------------


def open_digest(
    session: Session,
    recipient: str,
    *,
    period_start: datetime,
    period_end: datetime,
    message_id: str,
    now: datetime,
    monitor: str = "",
) -> DigestRecord:
    """The outbox row for (monitor, recipient, period_start), created `pending` unless it exists (then returned
    unchanged)."""
    session.execute(
        insert_for(session, Digest)
        .values(
            monitor=monitor,
            recipient=recipient,
            period_start=period_start,
            period_end=period_end,
            status="pending",
            message_id=message_id,
            story_count=0,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    row = session.scalars(
        select(Digest).where(
            Digest.monitor == monitor, Digest.recipient == recipient, Digest.period_start == period_start
        )
    ).one()
    return _record(row)


def get_digest(session: Session, digest_id: int) -> DigestRecord | None:
    """One outbox row by id."""
    row = session.get(Digest, digest_id, populate_existing=True)
    return None if row is None else _record(row)


def list_digests(session: Session, recipient: str | None = None) -> list[DigestRecord]:
    """Outbox rows (of one recipient, or all), oldest period first."""
    query = select(Digest).order_by(Digest.period_start, Digest.id)
    if recipient is not None:
        query = query.where(Digest.recipient == recipient)
    return [_record(row) for row in session.scalars(query)]


def last_period_end(session: Session, recipient: str, monitor: str = "") -> datetime | None:
    """Where the recipient's newest digest period of a monitor ends (whatever its state), or None before the first."""
    return session.scalar(
        select(func.max(Digest.period_end)).where(Digest.recipient == recipient, Digest.monitor == monitor)
    )


def first_period_start(session: Session, recipient: str, monitor: str = "") -> datetime | None:
    """Where the recipient's first digest period of a monitor started: older stories were never due to them."""
    return session.scalar(
        select(func.min(Digest.period_start)).where(Digest.recipient == recipient, Digest.monitor == monitor)
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    # A `sending` row whose lease ran out belongs to a run that crashed or hung (docs/faults.md S5): it may be re-sent.
    return or_(
        and_(Digest.status == "pending", or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now)),
        and_(Digest.status == "sending", Digest.lease_expires_at <= now),
    )


def due_digests(session: Session, recipients: Sequence[str], *, now: datetime, monitor: str = "") -> list[DigestRecord]:
    """Rows of these recipients (for a monitor) that may be sent now: pending and due, or sending with an expired
    lease."""
    if not recipients:
        return []
    query = (
        select(Digest)
        .where(Digest.recipient.in_(list(recipients)), Digest.monitor == monitor, _claimable(now))
        .order_by(Digest.period_start, Digest.id)
    )
    return [_record(row) for row in session.scalars(query)]


def waiting_digests(session: Session, *, now: datetime) -> list[DigestRecord]:
    """Rows pending a retry that is not due yet (a temporary failure's backoff), oldest first."""
    query = (
        select(Digest)
        .where(Digest.status == "pending", Digest.next_attempt_at > now)
        .order_by(Digest.period_start, Digest.id)
    )
    return [_record(row) for row in session.scalars(query)]


def claim_digest(session: Session, digest_id: int, *, now: datetime, lease: timedelta) -> int | None:
    """Lease a due row for sending; returns the attempt number that fences later updates, or None if not claimable.

    One conditional UPDATE, so two runs claiming the same row cannot both win.
    """
    statement = (
        update(Digest)
        .where(Digest.id == digest_id, _claimable(now))
        .values(status="sending", lease_expires_at=now + lease, attempts=Digest.attempts + 1)
        .returning(Digest.attempts)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).scalar()


def _finish(session: Session, digest_id: int, attempt: int, **values: Any) -> bool:
    # Only the holder of this attempt may move the row on: a run whose lease expired and was re-claimed cannot.
    statement = (
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == "sending", Digest.attempts == attempt)
        .values(lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(affected_rows(session.execute(statement)))


def mark_digest_sent(session: Session, digest_id: int, attempt: int, *, now: datetime) -> bool:
    """The server accepted the message: the period is done for this recipient."""
    return _finish(session, digest_id, attempt, status="sent", sent_at=now, last_error=None, next_attempt_at=None)


def mark_digest_empty(session: Session, digest_id: int, attempt: int, *, now: datetime) -> bool:
    """Nothing new in the period and no note configured: the period is done without an email (docs/faults.md S7)."""
    return _finish(session, digest_id, attempt, status="empty", sent_at=now, last_error=None, next_attempt_at=None)


def mark_digest_failed(session: Session, digest_id: int, attempt: int, *, error: str) -> bool:
    """A permanent refusal (e.g. 5xx for this recipient): not retried."""
    return _finish(session, digest_id, attempt, status="failed", last_error=error, next_attempt_at=None)


def defer_digest(session: Session, digest_id: int, attempt: int, *, error: str, next_attempt_at: datetime) -> bool:
    """A temporary failure: back to `pending`, not to be tried again before `next_attempt_at`."""
    return _finish(session, digest_id, attempt, status="pending", last_error=error, next_attempt_at=next_attempt_at)


# ---- what a digest carries -------------------------------------------------------------------------------------


def digest_story_ids(session: Session, digest_id: int) -> list[int]:
    """The stories recorded for a digest (fixed at its first claim, so a re-send carries the same stories)."""
    query = select(DigestStory.story_id).where(DigestStory.digest_id == digest_id).order_by(DigestStory.story_id)
    return list(session.scalars(query))


def record_digest_stories(session: Session, digest_id: int, story_ids: Sequence[int]) -> None:
    """Record which stories a digest carries, so later digests to the same recipient leave them out."""
    ids = sorted(set(story_ids))
    for chunk in chunks(ids):
        session.execute(
            insert_for(session, DigestStory).on_conflict_do_nothing(),
            [{"digest_id": digest_id, "story_id": story_id} for story_id in chunk],
        )
    count = session.scalar(select(func.count()).where(DigestStory.digest_id == digest_id)) or 0
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(story_count=count)
        .execution_options(synchronize_session=False)
    )
