"""Polling policy for one feed: when to fetch it next, from the publisher's hints (Retry-After, Cache-Control max-age,
RSS ttl, sy:updatePeriod), how often it has had new entries, and a weighted, capped backoff after failures. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import pairwise
from typing import Literal

FailureKind = Literal["hard", "soft", "temporary"]

MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=24)

# Backoff after consecutive failures: the first waits base interval × weight, each further failure doubles the wait,
# up to the kind's cap (and never beyond max_interval, 24 h by default):
#   temporary  weight 1, cap  6 h: timeouts, connection resets, 5xx, 429; likely to clear by itself soon.
#   soft       weight 2, cap 12 h: DNS failures, TLS errors, 404 and other 4xx, not a feed, unparseable; needs the
#                                  publisher to fix something, which may take days.
#   hard       weight 4, cap 24 h: 410 Gone, address blocked by policy, unusable URL; unlikely to recover, but still
#                                  tried daily so a feed is never disabled silently.
# For a 30-minute feed: temporary 30 m, 1 h, 2 h, 4 h, 6 h...; soft 1 h, 2 h, 4 h, 8 h, 12 h...; hard 2 h ... 24 h.
BACKOFF_WEIGHTS: dict[str, float] = {"temporary": 1.0, "soft": 2.0, "hard": 4.0}
BACKOFF_CAPS: dict[str, timedelta] = {
    "temporary": timedelta(hours=6),
    "soft": timedelta(hours=12),
    "hard": timedelta(hours=24),
}
# Entries published within this long of each other count as one publication (a batch), for adapt_interval.
_BATCH_WINDOW = timedelta(minutes=5)
_RECENT_PUBLICATIONS = 20


def parse_retry_after(value: str | None, now: datetime, *, cap: timedelta = MAX_INTERVAL) -> datetime | None:
    """The moment a Retry-After header (delay-seconds or HTTP-date, RFC 9110 10.2.3) allows a retry, at most `cap`
    from now; None when absent or unparseable. A date in the past means now."""
    _require_aware(now)
    if not value or not value.strip():
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):
        # Compare digit counts first: "99999999999999999999" would overflow timedelta.
        seconds = int(value) if len(value) <= 9 else None
        if seconds is None or seconds > cap.total_seconds():
            return now + cap
        return now + timedelta(seconds=seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" (RFC 5322: no zone information) comes back naive; HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    return min(max(when, now), now + cap)


def parse_max_age(cache_control: str | None) -> int | None:
    """Seconds of Cache-Control max-age, or None when absent or malformed (s-maxage is for shared caches only)."""
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, argument = directive.partition("=")
        if name.strip().lower() == "max-age":
            argument = argument.strip().strip('"')
            return int(argument) if re.fullmatch(r"[0-9]{1,9}", argument) else None
    return None


def adapt_interval(
    entry_times: Iterable[datetime],
    now: datetime,
    *,
    default: timedelta,
    min_interval: timedelta = MIN_INTERVAL,
    max_interval: timedelta = MAX_INTERVAL,
) -> timedelta:
    """A polling interval from how often the feed publishes: half the median gap between its recent publications, or
    a quarter of the time since the last one if that is longer (a feed gone quiet is polled less), within bounds.

    `entry_times` are the entries' published (or first-seen) times; entries within 5 minutes of each other count as
    one publication so a batch does not look like a feed that publishes every second. With fewer than two
    publications there is nothing to measure and `default` is used.
    """
    _require_aware(now)
    publications: list[datetime] = []
    for moment in sorted((t for t in entry_times if t <= now), reverse=True):
        if not publications or publications[-1] - moment >= _BATCH_WINDOW:
            publications.append(moment)
        if len(publications) == _RECENT_PUBLICATIONS:
            break
    if len(publications) < 2:
        return _clamp(default, min_interval, max_interval)
    gaps = sorted(newer - older for newer, older in pairwise(publications))
    middle = len(gaps) // 2
    typical = gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2
    quiet = now - publications[0]
    return _clamp(max(typical / 2, quiet / 4), min_interval, max_interval)


def backoff_delay(
    failures: int, kind: FailureKind, *, base: timedelta, max_interval: timedelta = MAX_INTERVAL
) -> timedelta:
    """Wait after `failures` consecutive failures of `kind`: base × weight × 2^(failures-1), capped (see above)."""
    if failures < 1:
        return base
    cap = min(BACKOFF_CAPS[kind], max_interval)
    exponent = min(failures - 1, 32)  # 2^32 × anything is far past every cap
    seconds = base.total_seconds() * BACKOFF_WEIGHTS[kind] * 2**exponent
    return min(timedelta(seconds=min(seconds, cap.total_seconds())), cap)


def next_fetch_time(
    now: datetime,
    *,
    base_interval: timedelta | float,
    failures: int = 0,
    kind: str | None = None,
    retry_after: datetime | str | None = None,
    max_age: int | None = None,
    ttl: int | None = None,
    update_period: int | None = None,
    min_interval: timedelta | float = MIN_INTERVAL,
    max_interval: timedelta | float = MAX_INTERVAL,
    jitter: float = 0.0,
) -> datetime:
    """When to fetch a feed next; never sooner than `min_interval` (5 min) nor later than `max_interval` (24 h).

    After a success (`failures` == 0) the wait is `base_interval` (for example from adapt_interval), lengthened to the
    publisher's hints: Cache-Control `max_age`, RSS `ttl` and the sy:updatePeriod `update_period`, all in seconds.
    After failures the backoff of `kind` applies ("temporary" when not given). `retry_after`, a moment or the raw
    header value, is honoured on top of either. `jitter`, a caller-supplied number in [0, 1), stretches the wait by up
    to 10% so feeds that failed together do not retry together. Intervals are timedeltas or seconds.
    """
    _require_aware(now)
    low, high = _duration(min_interval), _duration(max_interval)
    if low > high:
        raise ValueError("min_interval is longer than max_interval")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    base = max(_duration(base_interval), low)
    if failures > 0:
        delay = backoff_delay(failures, _failure_kind(kind or "temporary"), base=base, max_interval=high)
    else:
        hints = [timedelta(seconds=s) for s in (max_age, ttl, update_period) if s is not None and s > 0]
        delay = max([base, *hints])
    delay = _clamp(delay * (1.0 + 0.1 * jitter), low, high)
    moment = now + delay
    if isinstance(retry_after, str):
        retry_after = parse_retry_after(retry_after, now, cap=high)
    if retry_after is not None:
        moment = min(max(moment, retry_after), now + high)
    return moment


_KINDS: dict[str, FailureKind] = {"hard": "hard", "soft": "soft", "temporary": "temporary"}


def _failure_kind(kind: str) -> FailureKind:
    if kind not in _KINDS:
        raise ValueError(f"unknown failure kind {kind!r}: expected hard, soft or temporary")
    return _KINDS[kind]


def _duration(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    return max(low, min(value, high))


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
