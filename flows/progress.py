"""Progress of long work, reported to whoever listens (the CLI draws bars on a terminal; nobody else needs to).

A phase may be reported in rounds: the ingest run tags the stories it stored, then any left pending by earlier runs,
each round counting from 0. Listeners get the phase's running totals over all its rounds (9 of 9 then 3 more is
12 of 12, never back to 0 of 3), and an empty round after work is not reported at all (never "0/0" after "9/9").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Listener = Callable[[str, int, int], None]
"""Called with (phase, done, total), counted over every round of the phase since `reset`."""


@dataclass
class _Phase:
    earlier: int = 0  # items of the rounds before this one
    done: int = 0
    total: int = 0


_listeners: list[Listener] = []
_phases: dict[str, _Phase] = {}


def add_listener(listener: Listener) -> None:
    """Start sending progress to `listener`, counting from zero."""
    _listeners.append(listener)
    _phases.clear()


def remove_listener(listener: Listener) -> None:
    """Stop sending progress to `listener`."""
    if listener in _listeners:
        _listeners.remove(listener)


def report(phase: str, done: int, total: int) -> None:
    """Tell listeners how far `phase` has got in its current round (`done` of `total`, from 0)."""
    if not _listeners:
        return
    state = _phases.get(phase)
    if state is None:
        state = _phases[phase] = _Phase()
    elif done == 0 and state.total and state.done >= state.total:
        if total == 0:
            return  # an empty round after finished work: nothing to show
        state.earlier, state.done, state.total = state.earlier + state.total, 0, 0
    state.done, state.total = done, total
    for listener in list(_listeners):
        listener(phase, state.earlier + done, state.earlier + total)
