"""Progress bars on the terminal for long CLI commands (only when stderr is a terminal)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from flows import progress
from flows.output import error_console


@contextmanager
def progress_bars() -> Iterator[None]:
    """Draw one bar per phase reported through `flows.progress` while the block runs."""
    console = error_console()
    if not console.is_terminal:
        yield
        return
    bars = Progress(
        TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bars.add_task(phase, total=total)
        bars.update(tasks[phase], completed=done, total=total)

    progress.add_listener(update)
    try:
        with bars:
            yield
    finally:
        progress.remove_listener(update)
