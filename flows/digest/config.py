"""Digest configuration from NEWSMON_* settings, checked: the mail settings (SMTP server, sender, recipients), the time
zone digests show times in, and the minimum period the schedule allows. Bad settings raise DigestConfigError."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import formataddr, parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.digest.mailer import SMTPConfig
from flows.settings import Settings
from newsmon_errors import ConfigurationError


class DigestConfigError(ConfigurationError):
    """Digests cannot be sent with these settings (no SMTP host, no sender or no recipients, a bad schedule)."""


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


def unique_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Addresses stripped, without blanks, and once each whatever their letter case (`Alice@x` and `alice@x` are one
    mailbox in practice, and share a digest's Message-ID: issue 16, item 8); the first spelling is kept."""
    seen: dict[str, str] = {}
    for address in addresses:
        if address.strip():
            seen.setdefault(address.strip().lower(), address.strip())
    return tuple(seen.values())


def mail_settings(settings: Settings) -> MailSettings:
    """The SMTP settings, checked; raises DigestConfigError naming what is missing."""
    if not settings.smtp_host:
        raise DigestConfigError("no SMTP server configured: set NEWSMON_SMTP_HOST")
    if not settings.digest_from:
        raise DigestConfigError("no sender configured: set NEWSMON_DIGEST_FROM")
    recipients = unique_addresses(settings.digest_to)
    if not recipients and not _monitor_recipients(settings):
        raise DigestConfigError("no recipients configured: set NEWSMON_DIGEST_TO (or digest_to in a watchlist)")
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


def digest_timezone(settings: Settings) -> tzinfo:
    """The timezone digests show times in (windows are always computed in UTC)."""
    try:
        return ZoneInfo(settings.digest_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DigestConfigError(f"unknown timezone NEWSMON_DIGEST_TIMEZONE={settings.digest_timezone!r}") from None


def min_period_for(cron: str, timezone: str, now: datetime) -> timedelta:
    """Half the gap between the schedule's next two runs: a run closer than that to the last period (a duplicated
    scheduled run, the hour a DST fall-back repeats) opens no new period (docs/faults.md P3/P4)."""
    from cronsim import CronSim, CronSimError

    try:
        fires = CronSim(cron, now.astimezone(ZoneInfo(timezone)))
        first, second = next(fires), next(fires)
    except (CronSimError, ZoneInfoNotFoundError, ValueError, StopIteration) as error:
        raise DigestConfigError(f"bad digest schedule {cron!r} in {timezone!r}: {error}") from None
    return (second.astimezone(UTC) - first.astimezone(UTC)) / 2


def _monitor_recipients(settings: Settings) -> bool:
    """Whether any monitor has recipients of its own (`digest_to` in its watchlist file)."""
    from flows.monitors import load_monitors

    return any(monitor.watchlist.digest_to for monitor in load_monitors(settings.watchlist))
