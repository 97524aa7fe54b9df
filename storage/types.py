"""Column types that make SQLite and PostgreSQL behave alike: UTC datetimes and text free of NUL/control bytes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# C0 controls except tab, newline, carriage return; DEL; lone UTF-16 surrogates. PostgreSQL rejects NUL outright, and
# SQLite would keep all of them, so both databases get the same cleaned text (docs/faults.md M4).
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


MAX_TITLE_CHARS = 500
"""Titles (of stories, sightings, feeds, developments) are stored at most this long: a feed can send a title of
megabytes, which would be stored and printed in full (issue 16, item 10)."""


def clean_text(value: str) -> str:
    """Remove NUL, C0 control characters and lone surrogates from text."""
    return _UNSAFE_CHARS.sub("", value)


class SafeText(TypeDecorator[str]):
    """Text whose bound values are cleaned with `clean_text` on every database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value)


def cap_title(value: str, limit: int = MAX_TITLE_CHARS) -> str:
    """`value` if it fits in `limit` characters, else cut at the last space before it with " \u2026" added."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 2]
    head = cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut
    return head.rstrip() + " \u2026"


class TitleText(SafeText):
    """SafeText capped at MAX_TITLE_CHARS (`cap_title`): every title column."""

    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cleaned = super().process_bind_param(value, dialect)
        return None if cleaned is None else cap_title(cleaned)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetime; naive values are refused, SQLite's naive results get UTC attached."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: newsmon stores timezone-aware UTC datetimes only")
        value = value.astimezone(UTC)
        # SQLite keeps datetimes as text; storing them without an offset keeps `date()` and ordering simple.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
