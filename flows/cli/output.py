"""The CLI's output layer: results as a table for people, or exactly one JSON document / CSV for programs, on stdout;
one-line messages and progress bars on stderr, so output can be piped."""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows import progress


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def to_jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 (UTC, with offset), everything else as is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def emit_json(document: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(to_jsonable(document), ensure_ascii=False, indent=2) + "\n")


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    title: str | None = None,
    wide: bool = False,
) -> None:
    """Write `rows` as a table (stdout, for people), a JSON array or CSV with a header line.

    In a table, URL columns (`url`, `*_url`) show the host and path (`wide`: the whole URL) and fold onto more lines
    rather than end in "…". A table written to a pipe or file, or with `wide`, takes the width its cells need instead
    of a terminal's (rich's 80 columns for a pipe would cut cells short)."""
    if fmt is Format.json:
        emit_json([{column: row.get(column) for column in columns} for row in rows])
        return
    if fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row.get(column)) for column in columns])
        return
    urls = {column for column in columns if column == "url" or column.endswith("_url")}
    table = Table(title=title, show_lines=False)
    for column in columns:
        if column in urls:
            table.add_column(column.replace("_", " "), overflow="fold")
        else:
            table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(_cell(row.get(c)) if c not in urls or wide else _short_url(row.get(c)) for c in columns))
    console = Console(soft_wrap=False)
    if wide or not console.is_terminal:  # a pipe has no width: rich's 80 columns would cut cells to "…"
        console.width = max(
            console.width, console.measure(table, options=console.options.update(width=100_000)).maximum
        )
    console.print(table)


def _short_url(value: Any) -> str:
    """A URL as its host, path and query: the part a reader needs, without the scheme."""
    text = _cell(value)
    return text.split("://", 1)[1] if "://" in text else text


def _csv_value(value: Any) -> Any:
    """A CSV cell: empty for None, `true`/`false` as in the JSON output, ISO 8601 for times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return to_jsonable(value)


def rows_of(items: Iterable[Any], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows for `emit_rows` from objects with those attributes (query results)."""
    return [{column: getattr(item, column) for column in columns} for item in items]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def plural(count: int, noun: str) -> str:
    """`noun` in the number `count` asks for: "1 story", "2 stories", "0 feeds" (regular English nouns)."""
    if count == 1:
        return noun
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def error_console() -> Console:
    """Console on stderr, for messages and progress bars that must not mix with piped output."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def say(message: str) -> None:
    """One line for people on stderr (never wrapped, no markup: it may contain URLs and paths)."""
    error_console().print(message, markup=False)


@contextmanager
def progress_bars() -> Iterator[None]:
    """Draw one bar per phase reported through `flows.progress` while the block runs (only when stderr is a
    terminal)."""
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
        with bars, _logs_above(bars.console):
            yield
    finally:
        progress.remove_listener(update)


@contextmanager
def _logs_above(console: Console) -> Iterator[None]:
    """While bars are drawn, log handlers that write to the terminal's stderr (ours, and Prefect's console handler with
    its own rich Console) write through rich's stderr proxy, which prints each line above the bars, not onto them."""
    terminal = {id(sys.__stderr__), id(console.file)}
    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for logger in [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in terminal:
                moved.append((handler, handler.stream))
                _point(handler, sys.stderr)  # rich's proxy while the bars are live
    try:
        yield
    finally:
        for handler, stream in moved:
            _point(handler, stream)


def _point(handler: logging.StreamHandler[Any], stream: Any) -> None:
    handler.setStream(stream)
    own_console = getattr(handler, "console", None)  # Prefect's console handler prints through a Console of its own
    if isinstance(own_console, Console):
        # A Console unwraps rich's proxy and would write past it, onto the bars: hand it a plain forwarder instead.
        proxied = hasattr(stream, "rich_proxied_file")
        own_console.file = cast(IO[str], _Via(stream) if proxied else stream)


class _Via:
    """A text stream that forwards to another (one rich does not recognise as its proxy)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def write(self, text: str) -> int:
        return int(self._target.write(text))

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return False
