"""Digest delivery through the outbox: open one row per recipient and period, build (flows/digest/build.py), render
and send each digest, and record the outcome, so each period arrives at least once and at most one duplicate is
possible (a crash between the server's 250 and our record of it: docs/faults.md S4/S5). Also the retry backoff and the
Message-IDs, fixed by recipient and period."""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parseaddr

from sqlalchemy.orm import Session, sessionmaker

from flows.database import get_session_factory
from flows.digest.build import LOOKBACK, build_digest, recipients_of, stories_for
from flows.digest.config import MailSettings, digest_timezone, mail_settings, unique_addresses
from flows.digest.mailer import Mailer, SMTPConfigError
from flows.digest.render import render_message
from flows.monitors import load_monitors
from flows.settings import get_settings
from storage.digests import (
    DONE_STATUSES,
    DigestRecord,
    claim_digest,
    defer_digest,
    due_digests,
    get_digest,
    last_period_end,
    mark_digest_empty,
    mark_digest_failed,
    mark_digest_sent,
    open_digest,
    waiting_digests,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
"""How long a claimed digest may stay `sending` before another run may re-send it (docs/faults.md S5)."""
BACKOFF_STEPS = (1, 5, 30, 120, 360)
"""Retry backoff after the n-th temporary failure, in multiples of the base (NEWSMON_DIGEST_RETRY_SECONDS, 1 min)."""
RETRY_BASE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one run did with one outbox row; `status` is the row's state after it, or `skipped`."""

    recipient: str
    period_start: datetime
    period_end: datetime
    status: str
    stories: int
    message_id: str
    detail: str | None = None
    next_attempt_at: datetime | None = None

    def line(self) -> str:
        """One line for people."""
        text = f"{self.recipient}: {self.status} ({self.stories} {'story' if self.stories == 1 else 'stories'})"
        if self.detail:
            text += f": {self.detail}"
        if self.status == "pending" and self.next_attempt_at:
            text += f"; next attempt after {self.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        return text


def retry_delay(attempts: int, base: timedelta = RETRY_BASE) -> timedelta:
    """Backoff after the n-th failed attempt: by default 1 min, 5 min, 30 min, 2 h, then every 6 h (never given up)."""
    return base * BACKOFF_STEPS[min(max(attempts, 1), len(BACKOFF_STEPS)) - 1]


def message_id_for(recipient: str, period_start: datetime, sender: str, monitor: str = "") -> str:
    """A Message-ID fixed by monitor, recipient and period, so a re-send is recognisably the same message."""
    key = f"{recipient.lower()}|{period_start.astimezone(UTC).isoformat()}".encode()
    if monitor:
        key = f"{monitor}|".encode() + key
    domain = re.sub(r"[^A-Za-z0-9.-]", "", parseaddr(sender)[1].rpartition("@")[2]) or "newsmon.invalid"
    return f"<digest.{hashlib.sha256(key).hexdigest()[:32]}@{domain}>"


def plan_digests(
    factory: sessionmaker[Session],
    recipients: Sequence[str],
    *,
    sender: str,
    now: datetime,
    min_period: timedelta = timedelta(0),
    lookback: timedelta = LOOKBACK,
    monitor: str = "",
) -> list[int]:
    """Open the next period of a monitor's digest for each recipient (unless the last one ended less than
    `min_period` ago) and return the ids of every row that may be sent now: new, retried after backoff, or abandoned
    by a crashed run."""
    recipients = unique_addresses(recipients)
    with factory.begin() as session:
        for recipient in recipients:
            last_end = last_period_end(session, recipient, monitor)
            if last_end is not None and now - last_end < min_period:
                continue
            start = last_end or now - lookback
            if start < now:
                message_id = message_id_for(recipient, start, sender, monitor)
                open_digest(
                    session,
                    recipient,
                    period_start=start,
                    period_end=now,
                    message_id=message_id,
                    now=now,
                    monitor=monitor,
                )
        return [record.id for record in due_digests(session, recipients, now=now, monitor=monitor)]


def plan_monitor_digests(
    factory: sessionmaker[Session],
    everyone: Sequence[str],
    *,
    sender: str,
    now: datetime,
    min_period: timedelta = timedelta(0),
) -> list[int]:
    """`plan_digests` for every configured monitor, each to its own recipients (`digest_to`, else `everyone`)."""
    ids: list[int] = []
    for monitor in load_monitors(get_settings().watchlist):
        recipients = recipients_of(monitor, everyone)
        ids += plan_digests(factory, recipients, sender=sender, now=now, min_period=min_period, monitor=monitor.name)
    return ids


@dataclass(frozen=True, slots=True)
class _Outgoing:
    record: DigestRecord
    attempt: int
    stories: int
    message: bytes


def deliver_digests(
    factory: sessionmaker[Session],
    digest_ids: Sequence[int],
    *,
    mail: MailSettings,
    tz: tzinfo = UTC,
    now: datetime | None = None,
    nothing_new_note: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    retry_base: timedelta = RETRY_BASE,
) -> list[DeliveryReport]:
    """Claim, build, send and record each outbox row. A row already `sent` is left alone (a retried task, docs/faults.md
    P3); temporary failures go back to `pending` with a backoff. Raises SMTPConfigError once for bad settings."""
    now = now or datetime.now(UTC)
    reports: list[DeliveryReport] = []
    outgoing: list[_Outgoing] = []
    for digest_id in digest_ids:
        with factory.begin() as session:
            record = get_digest(session, digest_id)
            if record is None:
                continue
            if record.status in DONE_STATUSES:
                reports.append(_report(record, record.status, record.story_count, "already done"))
                continue
            attempt = claim_digest(session, digest_id, now=now, lease=LEASE)
            if attempt is None:
                reports.append(_report(record, "skipped", record.story_count, "being sent by another run, or not due"))
                continue
            story_ids = stories_for(session, record)
            if not story_ids and not nothing_new_note:
                mark_digest_empty(session, digest_id, attempt, now=now)
                reports.append(_report(record, "empty", 0, "nothing new: no email"))
                continue
            content = build_digest(
                session,
                period_start=record.period_start,
                period_end=record.period_end,
                story_ids=story_ids,
                now=now,
                monitor=record.monitor,
                recipient=record.recipient,
            )
        message = render_message(
            content, tz=tz, sender=mail.sender, recipient=record.recipient, message_id=record.message_id, date=now
        )
        outgoing.append(_Outgoing(record, attempt, len(story_ids), message))
    if outgoing:
        reports.extend(_send(factory, outgoing, mail=mail, now=now, ssl_context=ssl_context, retry_base=retry_base))
    return reports


def _send(
    factory: sessionmaker[Session],
    outgoing: Sequence[_Outgoing],
    *,
    mail: MailSettings,
    now: datetime,
    ssl_context: ssl.SSLContext | None,
    retry_base: timedelta,
) -> list[DeliveryReport]:
    reports: list[DeliveryReport] = []
    with Mailer(mail.smtp, ssl_context=ssl_context) as mailer:
        for index, item in enumerate(outgoing):
            record, attempt = item.record, item.attempt
            try:
                [result] = mailer.send(mail.envelope_sender, [record.recipient], item.message)
            except SMTPConfigError as error:
                # Nothing more can be sent with these settings: release every row still held, then surface it once.
                with factory.begin() as session:
                    for rest in outgoing[index:]:
                        retry_at = now + retry_delay(rest.attempt, retry_base)
                        defer_digest(session, rest.record.id, rest.attempt, error=str(error), next_attempt_at=retry_at)
                raise
            with factory.begin() as session:
                if result.outcome == "sent":
                    if not mark_digest_sent(session, record.id, attempt, now=now):
                        logger.warning("digest %s was sent after its lease expired", record.message_id)
                    reports.append(_report(record, "sent", item.stories))
                elif result.outcome == "failed":
                    mark_digest_failed(session, record.id, attempt, error=result.reason or "refused")
                    reports.append(_report(record, "failed", item.stories, result.reason))
                else:
                    retry_at = now + retry_delay(attempt, retry_base)
                    reason = result.reason or "temporary failure"
                    defer_digest(session, record.id, attempt, error=reason, next_attempt_at=retry_at)
                    reports.append(_report(record, "pending", item.stories, reason, retry_at))
    return reports


def _report(
    record: DigestRecord, status: str, stories: int, detail: str | None = None, retry_at: datetime | None = None
) -> DeliveryReport:
    return DeliveryReport(
        recipient=record.recipient,
        period_start=record.period_start,
        period_end=record.period_end,
        status=status,
        stories=stories,
        message_id=record.message_id,
        detail=detail,
        next_attempt_at=retry_at,
    )


def send_digests(
    *,
    now: datetime | None = None,
    nothing_new_note: bool = False,
    min_period: timedelta = timedelta(0),
    ssl_context: ssl.SSLContext | None = None,
) -> list[DeliveryReport]:
    """Send what is due now to every configured recipient, without Prefect (for `newsmon digest send`)."""
    settings = get_settings()
    return send_due_digests(
        get_session_factory(),
        mail_settings(settings),
        now=now or datetime.now(UTC),
        tz=digest_timezone(settings),
        min_period=min_period,
        nothing_new_note=nothing_new_note,
        ssl_context=ssl_context,
        retry_base=timedelta(seconds=settings.digest_retry_seconds),
    )


def send_due_digests(
    factory: sessionmaker[Session],
    mail: MailSettings,
    *,
    now: datetime,
    monitors: Sequence[str] | None = None,
    tz: tzinfo = UTC,
    min_period: timedelta = timedelta(0),
    nothing_new_note: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    retry_base: timedelta = RETRY_BASE,
) -> list[DeliveryReport]:
    """Plan and send the digests of `monitors` (by default every configured monitor, each to its recipients) due
    now; digests waiting out a retry backoff are reported too, with their next attempt (issue 16, item 11)."""
    if monitors is None:
        ids = plan_monitor_digests(factory, mail.recipients, sender=mail.sender, now=now, min_period=min_period)
    else:
        ids = [
            digest_id
            for monitor in monitors
            for digest_id in plan_digests(
                factory, mail.recipients, sender=mail.sender, now=now, min_period=min_period, monitor=monitor
            )
        ]
    reports = deliver_digests(
        factory,
        ids,
        mail=mail,
        tz=tz,
        now=now,
        nothing_new_note=nothing_new_note,
        ssl_context=ssl_context,
        retry_base=retry_base,
    )
    with factory.begin() as session:
        waiting = [record for record in waiting_digests(session, now=now) if record.id not in set(ids)]
    for record in waiting:
        detail = f"waiting to retry after {record.last_error}" if record.last_error else "waiting to retry"
        reports.append(_report(record, "pending", record.story_count, detail, record.next_attempt_at))
    return reports
