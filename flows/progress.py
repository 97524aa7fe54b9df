"""Progress of long work, reported to whoever listens (the CLI draws bars on a terminal; nobody else needs to)."""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str, int, int], None]
"""Called with (phase, done, total)."""

_listeners: list[Listener] = []


def add_listener(listener: Listener) -> None:
    """Start sending progress to `listener`."""
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop sending progress to `listener`."""
    if listener in _listeners:
        _listeners.remove(listener)


def report(phase: str, done: int, total: int) -> None:
    """Tell listeners how far `phase` has got."""
    for listener in list(_listeners):
        listener(phase, done, total)
