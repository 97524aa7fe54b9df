"""What the commands share on the way in: the --format, --topic, --entity, --limit and --watched options, durations
on the command line (`30s`, `15m`, `12h`, `7d`, `2w`), and `now()`, the one clock commands count back from."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from flows.cli.output import Format
from storage.tags import TagRef

FormatOption = Annotated[Format, typer.Option("--format", help="table for people; json or csv for programs.")]
TopicOption = Annotated[str | None, typer.Option("--topic", help="A topic, by its watchlist name.")]
EntityOption = Annotated[str | None, typer.Option("--entity", help="An entity, by its name.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")]
WatchedOption = Annotated[bool, typer.Option("--watched", help="Only watchlist items.")]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def now() -> datetime:
    """The current time in UTC: what `--since 7d`, day windows and new feeds' timestamps count from."""
    return datetime.now(UTC)


def parse_duration(value: str | timedelta) -> timedelta:
    """A duration as a timedelta (a typer parser: bad input is a usage error that says what to write)."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{value!r} is not a duration: write a positive number and a unit, like 7d, 12h or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def one_tag(topic: str | None, entity: str | None) -> TagRef | None:
    """The tag named by --topic or --entity (at most one of them), or None when neither is given."""
    if topic is not None and entity is not None:
        raise typer.BadParameter("give --topic or --entity, not both")
    if topic is None and entity is None:
        return None
    return TagRef("topic", topic) if topic is not None else TagRef("entity", entity or "")


def required_tag(topic: str | None, entity: str | None) -> TagRef:
    """The tag named by --topic or --entity, exactly one of which must be given."""
    tag = one_tag(topic, entity)
    if tag is None:
        raise typer.BadParameter("give --topic or --entity")
    return tag
