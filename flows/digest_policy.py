"""Digest configuration and policy: mail settings checked from NEWSMON_* settings, the minimum period a schedule
allows, the retry backoff, and Message-IDs fixed by recipient and period."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.digest_build import DigestConfigError
from flows.mailer import SMTPConfig
from flows.settings import Settings

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Where digests go: the SMTP server, the sender (`From`, possibly with a display name) and the recipients."""

    smtp: SMTPConfig
    sender: str
    recipients: tuple[str, ...]

    @property
    def envelope_sender(self) -> str:
        """The bare address of `sender`, for MAIL FROM."""
        return parseaddr(self.sender)[1] or self.sender


def mail_settings(settings: Settings) -> MailSettings:
    """The SMTP settings, checked; raises DigestConfigError naming what is missing."""
    if not settings.smtp_host:
        raise DigestConfigError("no SMTP server configured: set NEWSMON_SMTP_HOST")
    if not settings.digest_from:
        raise DigestConfigError("no sender configured: set NEWSMON_DIGEST_FROM")
    recipients = tuple(dict.fromkeys(address.strip() for address in settings.digest_to if address.strip()))
    if not recipients:
        raise DigestConfigError("no recipients configured: set NEWSMON_DIGEST_TO")
    name, sender = parseaddr(settings.digest_from)
    for address in (sender, *recipients):
        if address.count("@") != 1 or any(ch.isspace() or ord(ch) < 32 or ch in "<>,;" for ch in address):
            raise DigestConfigError(f"not an email address: {address!r}")
    if any(ord(ch) < 32 for ch in name):
        raise DigestConfigError("control characters in NEWSMON_DIGEST_FROM")
    smtp = SMTPConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
    return MailSettings(smtp=smtp, sender=formataddr((name, sender)) if name else sender, recipients=recipients)


def min_period_for(cron: str, timezone: str, now: datetime) -> timedelta:
    """Half the gap between the schedule's next two runs: a run closer than that to the last period (a duplicated
    scheduled run, the hour a DST fall-back repeats) opens no new period (faults.md P3/P4)."""
    from cronsim import CronSim, CronSimError

    try:
        fires = CronSim(cron, now.astimezone(ZoneInfo(timezone)))
        first, second = next(fires), next(fires)
    except (CronSimError, ZoneInfoNotFoundError, ValueError, StopIteration) as error:
        raise DigestConfigError(f"bad digest schedule {cron!r} in {timezone!r}: {error}") from None
    return (second.astimezone(UTC) - first.astimezone(UTC)) / 2


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: 1 min, 5 min, 30 min, 2 h, then every 6 h (never given up)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def message_id_for(recipient: str, period_start: datetime, sender: str) -> str:
    """A Message-ID fixed by recipient and period, so a re-send is recognisably the same message."""
    key = f"{recipient.lower()}|{period_start.astimezone(UTC).isoformat()}".encode()
    domain = re.sub(r"[^A-Za-z0-9.-]", "", parseaddr(sender)[1].rpartition("@")[2]) or "newsmon.invalid"
    return f"<digest.{hashlib.sha256(key).hexdigest()[:32]}@{domain}>"
