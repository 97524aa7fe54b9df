"""Durations on the command line: `30s`, `15m`, `12h`, `7d`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

import typer

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str | timedelta) -> timedelta:
    """A duration as a timedelta (a typer parser: bad input is a usage error that says what to write)."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{value!r} is not a duration: write a positive number and a unit, like 7d, 12h or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
