"""extractors.schedule: Retry-After and Cache-Control parsing, publisher hints, adaptive intervals and backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from extractors.schedule import (
    BACKOFF_CAPS,
    MAX_INTERVAL,
    MIN_INTERVAL,
    adapt_interval,
    backoff_delay,
    next_fetch_time,
    parse_max_age,
    parse_retry_after,
)

NOW = datetime(2025, 2, 15, 12, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


# --- Retry-After --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        (" 0 ", NOW),
        ("Sat, 15 Feb 2025 13:30:00 GMT", NOW + timedelta(minutes=90)),
        ("Saturday, 15-Feb-25 13:30:00 GMT", NOW + timedelta(minutes=90)),  # RFC 850, obsolete but allowed
        ("Sat Feb 15 13:30:00 2025", NOW + timedelta(minutes=90)),  # asctime
        ("Fri, 14 Feb 2025 09:00:00 GMT", NOW),  # in the past: retry now
        ("317100", NOW + timedelta(hours=24)),  # 3.7 days, capped
        ("99999999999999999999999", NOW + timedelta(hours=24)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", NOW + timedelta(hours=24)),
        ("-5", None),
        ("1.5", None),
        ("²", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_cap_is_configurable() -> None:
    assert parse_retry_after("7200", NOW, cap=timedelta(hours=1)) == NOW + timedelta(hours=1)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_retry_after("120", datetime(2025, 1, 1))


# --- Cache-Control --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=300", 300),
        ("public, max-age=60, must-revalidate", 60),
        ('MAX-AGE="30"', 30),
        ("max-age=0", 0),
        ("s-maxage=600", None),
        ("no-cache", None),
        ("max-age=abc", None),
        ("max-age=-1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_max_age(header: str | None, expected: int | None) -> None:
    assert parse_max_age(header) == expected


# --- next_fetch_time after a success --------------------------------------------------------------------------------


def test_success_waits_the_base_interval() -> None:
    assert next_fetch_time(NOW, base_interval=HALF_HOUR) == NOW + HALF_HOUR
    assert next_fetch_time(NOW, base_interval=1800) == NOW + HALF_HOUR  # seconds work too


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ({"ttl": 3600}, timedelta(hours=1)),  # RSS <ttl>60</ttl>
        ({"max_age": 7200}, timedelta(hours=2)),
        ({"update_period": 86400}, timedelta(hours=24)),  # sy:updatePeriod daily
        ({"ttl": 60, "max_age": 0, "update_period": None}, HALF_HOUR),  # shorter hints never shorten the wait
        ({"ttl": 3600, "max_age": 5400}, timedelta(minutes=90)),  # the longest hint wins
        ({"ttl": 3 * 86400}, timedelta(hours=24)),  # capped
    ],
)
def test_publisher_hints_lengthen_the_wait(hints: dict[str, int | None], expected: timedelta) -> None:
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, **hints) == NOW + expected  # type: ignore[arg-type]


def test_bounds_are_five_minutes_and_a_day_and_configurable() -> None:
    assert next_fetch_time(NOW, base_interval=timedelta(seconds=10)) == NOW + MIN_INTERVAL
    assert next_fetch_time(NOW, base_interval=timedelta(days=3)) == NOW + MAX_INTERVAL
    assert next_fetch_time(NOW, base_interval=10, min_interval=60) == NOW + timedelta(minutes=1)
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, max_interval=timedelta(minutes=20)) == NOW + timedelta(
        minutes=20
    )
    with pytest.raises(ValueError, match="min_interval"):
        next_fetch_time(NOW, base_interval=HALF_HOUR, min_interval=timedelta(hours=2), max_interval=timedelta(hours=1))


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (NOW + timedelta(hours=2), NOW + timedelta(hours=2)),  # later than the interval: honoured
        (NOW + timedelta(minutes=2), NOW + HALF_HOUR),  # sooner: the interval still applies
        ("120", NOW + HALF_HOUR),
        ("7200", NOW + timedelta(hours=2)),  # the raw header value works too
        ("317100", NOW + timedelta(hours=24)),
        (NOW + timedelta(days=30), NOW + timedelta(hours=24)),
        ("garbage", NOW + HALF_HOUR),
    ],
)
def test_retry_after_is_honoured_within_the_cap(retry_after: datetime | str, expected: datetime) -> None:
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, retry_after=retry_after) == expected


def test_jitter_stretches_by_up_to_ten_percent() -> None:
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, jitter=0.5) == NOW + timedelta(minutes=31, seconds=30)
    with pytest.raises(ValueError, match="jitter"):
        next_fetch_time(NOW, base_interval=HALF_HOUR, jitter=1.0)


# --- backoff --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "hours"),
    [
        ("temporary", [0.5, 1, 2, 4, 6, 6, 6]),
        ("soft", [1, 2, 4, 8, 12, 12, 12]),
        ("hard", [2, 4, 8, 16, 24, 24, 24]),
    ],
)
def test_backoff_grows_by_kind_and_is_capped(kind: str, hours: list[float]) -> None:
    waits = [
        next_fetch_time(NOW, base_interval=HALF_HOUR, failures=n, kind=kind) - NOW for n in range(1, len(hours) + 1)
    ]

    assert waits == [timedelta(hours=h) for h in hours]
    assert max(waits) == BACKOFF_CAPS[kind]


def test_backoff_ignores_success_hints_but_honours_retry_after() -> None:
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, failures=1, kind="temporary", ttl=86400) == NOW + HALF_HOUR
    assert next_fetch_time(
        NOW, base_interval=HALF_HOUR, failures=1, kind="temporary", retry_after="Sat, 15 Feb 2025 15:00:00 GMT"
    ) == NOW + timedelta(hours=3)


def test_backoff_edge_cases() -> None:
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, failures=2) == NOW + timedelta(hours=1)  # temporary default
    assert next_fetch_time(NOW, base_interval=HALF_HOUR, failures=10_000, kind="soft") == NOW + timedelta(hours=12)
    assert next_fetch_time(NOW, base_interval=60, failures=1, kind="temporary") == NOW + MIN_INTERVAL
    assert backoff_delay(0, "hard", base=HALF_HOUR) == HALF_HOUR
    assert backoff_delay(3, "hard", base=HALF_HOUR, max_interval=timedelta(hours=6)) == timedelta(hours=6)
    with pytest.raises(ValueError, match="unknown failure kind"):
        next_fetch_time(NOW, base_interval=HALF_HOUR, failures=1, kind="fatal")


# --- adaptive interval ----------------------------------------------------------------------------------------------


def test_adapt_interval_halves_the_typical_gap() -> None:
    hourly = [NOW - timedelta(minutes=10) - timedelta(hours=n) for n in range(12)]

    assert adapt_interval(hourly, NOW, default=HALF_HOUR) == timedelta(minutes=30)


def test_adapt_interval_treats_a_batch_as_one_publication() -> None:
    # every 6 hours, 20 entries within two minutes
    batches = [NOW - timedelta(hours=6 * b, seconds=6 * i) for b in range(4) for i in range(20)]

    assert adapt_interval(batches, NOW, default=HALF_HOUR) == timedelta(hours=3)


def test_adapt_interval_slows_down_for_a_quiet_feed() -> None:
    went_quiet = [NOW - timedelta(days=8) - timedelta(hours=n) for n in range(10)]

    assert adapt_interval(went_quiet, NOW, default=HALF_HOUR) == MAX_INTERVAL
    assert adapt_interval([NOW - timedelta(hours=20), NOW - timedelta(hours=21)], NOW, default=HALF_HOUR) == timedelta(
        hours=5
    )


def test_adapt_interval_bounds_and_defaults() -> None:
    busy = [NOW - timedelta(minutes=6 * n) for n in range(30)]
    assert adapt_interval(busy, NOW, default=HALF_HOUR) == MIN_INTERVAL
    assert adapt_interval([], NOW, default=timedelta(hours=2)) == timedelta(hours=2)
    assert adapt_interval([NOW - timedelta(hours=1)], NOW, default=timedelta(days=5)) == MAX_INTERVAL
    future = [NOW + timedelta(days=n) for n in range(1, 5)]  # bogus future dates are ignored
    assert adapt_interval(future, NOW, default=HALF_HOUR) == HALF_HOUR


def test_adapt_interval_accepts_any_timezone() -> None:
    kyiv = timezone(timedelta(hours=2))
    times = [(NOW - timedelta(hours=2 * n)).astimezone(kyiv) for n in range(1, 6)]

    assert adapt_interval(times, NOW, default=HALF_HOUR) == timedelta(hours=1)
