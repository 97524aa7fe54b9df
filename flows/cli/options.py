"""What the commands share on the way in: the --format, --topic, --entity, --limit and --watched options, durations
on the command line (`30s`, `15min`, `12h`, `7d`, `2w`, `3mo`), and `now()`, the one clock commands count back from.

A bare `m` means minutes where a slip costs nothing (`--since 15m`, `--ingest-every 5m`); a destructive command
(`prune --older-than`) refuses it and asks for `min` or `mo`, so that "1m" never deletes everything seen over a
minute ago when a month was meant."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from flows.cli.output import Format, say
from newsmon_errors import ConfigurationError
from storage.tags import TagRef

FormatOption = Annotated[Format, typer.Option("--format", help="table for people; json or csv for programs.")]
TopicOption = Annotated[str | None, typer.Option("--topic", help="A topic, by its watchlist name.")]
EntityOption = Annotated[str | None, typer.Option("--entity", help="An entity, by its name.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")]
WatchedOption = Annotated[bool, typer.Option("--watched", help="Only watchlist items.")]
WideOption = Annotated[
    bool, typer.Option("--wide", help="Show every cell in full (whole URLs), however wide the table gets.")
]

_DURATION = re.compile(r"^\s*(\d+)\s*(min|mo|[smhdw])\s*$")
_UNIT_SECONDS = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "mo": 30 * 86400,  # a month counts 30 days
}
MAX_DAYS = 36_500
"""The longest duration or window a command takes (about 100 years): dates further back are out of range."""


def now() -> datetime:
    """The current time in UTC: what `--since 7d`, day windows and new feeds' timestamps count from."""
    return datetime.now(UTC)


def parse_duration(value: str | timedelta) -> timedelta:
    """A duration as a timedelta (a typer parser: bad input is a usage error that says what to write)."""
    return _duration(value, bare_m=True)


def parse_strict_duration(value: str | timedelta) -> timedelta:
    """A duration for a destructive command: as `parse_duration`, but a bare `m` (minutes or months?) is refused."""
    return _duration(value, bare_m=False)


def _duration(value: str | timedelta, *, bare_m: bool) -> timedelta:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(
            f"{value!r} is not a duration: write a positive number and a unit, like 7d, 12h, 30min, 2w or 3mo"
        )
    number, unit = int(match.group(1)), match.group(2)
    if unit == "m" and not bare_m:
        raise typer.BadParameter(f"{value!r} is ambiguous here: write {number}min for minutes or {number}mo for months")
    if number * _UNIT_SECONDS[unit] > MAX_DAYS * 86400:
        raise typer.BadParameter(f"{value!r} is too long: at most {MAX_DAYS}d (about 100 years)")
    return timedelta(seconds=number * _UNIT_SECONDS[unit])


def one_tag(topic: str | None, entity: str | None) -> TagRef | None:
    """The tag named by --topic or --entity (at most one of them), or None when neither is given."""
    if topic is not None and entity is not None:
        raise typer.BadParameter("give --topic or --entity, not both")
    if topic is None and entity is None:
        return None
    return TagRef("topic", topic) if topic is not None else TagRef("entity", entity or "")


def resolve_tag(tag: TagRef) -> TagRef:
    """The tag a name on the command line means, resolved as the watchlist resolves text: a watched item's alias
    (any case, its variants) gives the item's canonical name ("rare earth" is `rare earths`, "Hegseth" is
    `Pete Hegseth`). A name that no watched item and no stored tag answers to gets a warning on stderr."""
    from extractors.watchlist import expand_aliases
    from flows.database import read_only_session
    from flows.monitors import tagging_watchlist
    from flows.settings import get_settings
    from storage.tags import find_tags

    wanted = " ".join(tag.name.split()).casefold()
    try:
        items = tagging_watchlist(get_settings().watchlist).items
    except ConfigurationError:
        items = ()  # a broken watchlist does not stop queries by stored names
    matches = [item for item in items if any(form.casefold() == wanted for form, _ in expand_aliases(item))]
    exact = [item for item in matches if item.name.casefold() == wanted]
    for item in exact or [item for item in matches if item.kind == tag.kind]:
        if item.kind == tag.kind:
            if item.name != tag.name:
                say(f"--{tag.kind} {tag.name!r}: the watched {tag.kind} {item.name!r}")
            return TagRef(item.kind, item.name)
    with read_only_session() as session:
        stored = find_tags(session, tag.kind, tag.name)
    if not stored:
        other = next((item for item in matches if item.kind != tag.kind), None)
        hint = f": it is the watched {other.kind} {other.name!r} (--{other.kind})" if other else ""
        say(f"warning: no {tag.kind} {tag.name!r} is watched or has been seen in any story{hint}")
    return tag


def required_tag(topic: str | None, entity: str | None) -> TagRef:
    """The tag named by --topic or --entity, exactly one of which must be given."""
    tag = one_tag(topic, entity)
    if tag is None:
        raise typer.BadParameter("give --topic or --entity")
    return tag
