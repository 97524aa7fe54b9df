"""CLI commands over the story store: `newsmon trends ...` (series, rising, co-mentions, outlets, first/last seen),
`newsmon stories` and `newsmon prune`. Registered in flows/cli.py; results go through flows/output.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from flows.database import get_engine, get_session_factory
from flows.durations import parse_duration
from flows.output import Format, emit_json, emit_rows, say
from storage.attention import co_mentions, outlet_attention
from storage.engine import read_only
from storage.listing import list_stories
from storage.retention import PruneResult, prune
from storage.search import InvalidSearch
from storage.trends import TagCount, rising_tags, tag_series, tag_spans
from storage.windows import TagRef, Window, days_window, preceding_window

PRUNE_BATCH = 2_000
"""Stories pruned per transaction."""


class Interval(StrEnum):
    day = "day"
    week = "week"


class Kind(StrEnum):
    topic = "topic"
    entity = "entity"
    any = "any"


FormatOption = Annotated[Format, typer.Option("--format", help="table for people; json or csv for programs.")]
TopicOption = Annotated[str | None, typer.Option("--topic", help="A topic, by its watchlist name.")]
EntityOption = Annotated[str | None, typer.Option("--entity", help="An entity, by its name.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")]
WatchedOption = Annotated[bool, typer.Option("--watched", help="Only watchlist items.")]

trends_app = typer.Typer(help="Trends: stories per day or week per tag, rising tags, co-mentions, outlets.")


@contextmanager
def _reading() -> Iterator[Session]:
    """A read-only transaction (on SQLite it does not take the write lock, so it never waits for an ingest)."""
    with Session(read_only(get_engine())) as session, session.begin():
        yield session


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(message: str) -> NoReturn:
    say(f"newsmon: error: {message}")
    raise typer.Exit(1)


def _one_tag(topic: str | None, entity: str | None) -> TagRef | None:
    if topic is not None and entity is not None:
        raise typer.BadParameter("give --topic or --entity, not both")
    if topic is None and entity is None:
        return None
    return TagRef("topic", topic) if topic is not None else TagRef("entity", entity or "")


def _required_tag(topic: str | None, entity: str | None) -> TagRef:
    tag = _one_tag(topic, entity)
    if tag is None:
        raise typer.BadParameter("give --topic or --entity")
    return tag


@trends_app.callback(invoke_without_command=True)
def trends(
    ctx: typer.Context,
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[int, typer.Option("--days", min=1, help="How many days back, today included.")] = 30,
    interval: Annotated[Interval, typer.Option("--interval", help="Count per day, or per week (from Monday).")] = (
        Interval.day
    ),
    fmt: FormatOption = Format.table,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw the series as a PNG chart.")] = None,
) -> None:
    """Stories per day or week mentioning a topic or an entity (every watched tag when neither is given)."""
    if ctx.invoked_subcommand is not None:
        return
    tag = _one_tag(topic, entity)
    window = days_window(days, _now(), interval=interval.value)
    with _reading() as session:
        series = tag_series(session, window, None if tag is None else [tag], interval=interval.value)
    if plot is not None:
        try:
            _plot(series, plot, f"Stories per {interval.value}")
        except OSError as error:
            _fail(f"cannot write {plot}: {error.strerror}")
        say(f"wrote {plot}")
    if fmt is Format.table:
        rows, columns = _pivot(series)
        title = f"stories per {interval.value}, {window.start:%Y-%m-%d} to {window.end - timedelta(days=1):%Y-%m-%d}"
        emit_rows(rows, columns, fmt, title=title)
    else:
        rows = [{"period": c.period, "kind": c.kind, "name": c.name, "stories": c.stories} for c in series]
        emit_rows(rows, ["period", "kind", "name", "stories"], fmt)


@trends_app.command("rising")
def trends_rising(
    days: Annotated[int, typer.Option("--days", min=1, help="The recent window, in days.")] = 7,
    baseline_days: Annotated[int, typer.Option("--baseline-days", min=1, help="The window before it.")] = 28,
    kind: Annotated[Kind, typer.Option("--kind")] = Kind.any,
    watched: WatchedOption = False,
    min_stories: Annotated[int, typer.Option("--min-stories", min=1)] = 3,
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Tags whose share of stories grew most in the last days against the weeks before (smoothed log ratio)."""
    recent = days_window(days, _now())
    with _reading() as session:
        rising = rising_tags(
            session,
            recent,
            preceding_window(recent, baseline_days),
            kind=_kind(kind),
            watched_only=watched,
            min_stories=min_stories,
            limit=limit,
        )
    columns = ["kind", "name", "watched", "recent", "baseline", "expected", "score"]
    emit_rows([_fields(tag, columns) for tag in rising], columns, fmt, title=f"rising over the last {days} days")


@trends_app.command("co-mentions")
def trends_co_mentions(
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[int, typer.Option("--days", min=1, help="The window, compared with the same span before it.")] = 30,
    kind: Annotated[Kind, typer.Option("--kind", help="Kind of the co-mentioned tags.")] = Kind.entity,
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Tags that appear in the same stories as a topic or entity, now and in the window before."""
    tag = _required_tag(topic, entity)
    window = days_window(days, _now())
    with _reading() as session:
        found = co_mentions(
            session,
            tag,
            window,
            baseline=preceding_window(window, days),
            kind=_kind(kind),
            limit=limit,
        )
    columns = ["kind", "name", "watched", "stories", "share", "baseline_stories", "baseline_share"]
    emit_rows([_fields(item, columns) for item in found], columns, fmt, title=f"with {tag.name}, last {days} days")


@trends_app.command("outlets")
def trends_outlets(
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[int, typer.Option("--days", min=1)] = 30,
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Outlets that carried the most stories with a topic or entity (share: of all the stories they carried)."""
    tag = _required_tag(topic, entity)
    with _reading() as session:
        found = outlet_attention(session, tag, days_window(days, _now()), limit=limit)
    columns = ["outlet", "stories", "sightings", "share"]
    emit_rows(
        [_fields(item, columns) for item in found], columns, fmt, title=f"outlets on {tag.name}, last {days} days"
    )


@trends_app.command("seen")
def trends_seen(
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[int | None, typer.Option("--days", min=1, help="Only stories of the last days (default: all).")] = (
        None
    ),
    kind: Annotated[Kind, typer.Option("--kind")] = Kind.any,
    watched: WatchedOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """When each tag was first and last seen, and in how many stories."""
    tag = _one_tag(topic, entity)
    window: Window | None = None if days is None else days_window(days, _now())
    with _reading() as session:
        spans = tag_spans(
            session,
            window=window,
            tags=None if tag is None else [tag],
            kind=_kind(kind),
            watched_only=watched,
        )
    columns = ["kind", "name", "watched", "first_seen_at", "last_seen_at", "stories"]
    emit_rows([_fields(span, columns) for span in spans], columns, fmt, title="first and last seen")


def stories_command(
    topic: TopicOption = None,
    entity: EntityOption = None,
    since: Annotated[timedelta | None, typer.Option("--since", parser=parse_duration, metavar="DURATION")] = None,
    search: Annotated[
        str | None, typer.Option("--search", help='Words, "exact phrases", a OR b, -excluded (English stemming).')
    ] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
) -> None:
    """List stories, newest first, with how many sightings and outlets carried each."""
    tags = tuple(TagRef(kind, name) for kind, name in (("topic", topic), ("entity", entity)) if name is not None)
    try:
        with _reading() as session:
            stories = list_stories(
                session, since=None if since is None else _now() - since, tags=tags, search=search, limit=limit
            )
    except InvalidSearch as error:
        _fail(str(error))
    columns = ["id", "first_seen_at", "title", "sightings", "outlets", "canonical_url"]
    emit_rows([_fields(story, columns) for story in stories], columns, fmt, title=f"{len(stories)} stories")


def prune_command(
    older_than: Annotated[
        timedelta,
        typer.Option("--older-than", parser=parse_duration, metavar="DURATION", help="e.g. 365d: first seen before."),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go, change nothing.")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table (a line on stderr) or json.")] = Format.table,
) -> None:
    """Delete stories first seen before a cutoff, keeping tombstones of their URLs so they are not fetched again."""
    now = _now()
    if dry_run:
        with get_session_factory()() as session:
            result = prune(session, older_than, now)
            session.rollback()
    else:
        # One short transaction per batch: ingestion can write in between (SQLite has one writer at a time).
        result = PruneResult(cutoff=now - older_than, stories=0, tombstones=0)
        while True:
            with get_session_factory().begin() as session:
                batch = prune(session, older_than, now, limit=PRUNE_BATCH)
            result = replace(
                result, stories=result.stories + batch.stories, tombstones=result.tombstones + batch.tombstones
            )
            if batch.stories < PRUNE_BATCH:
                break
    summary = {"cutoff": result.cutoff, "stories": result.stories, "tombstones": result.tombstones, "dry_run": dry_run}
    if fmt is Format.json:
        emit_json(summary)
        return
    if fmt is Format.csv:
        emit_rows([summary], list(summary), fmt)
        return
    verb = "would prune" if dry_run else "pruned"
    say(
        f"{verb} {result.stories} stories first seen before {result.cutoff:%Y-%m-%d %H:%M} UTC; "
        f"{result.tombstones} URLs tombstoned"
    )


def _fields(item: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {column: getattr(item, column) for column in columns}


def _kind(kind: Kind) -> str | None:
    return None if kind is Kind.any else kind.value


def _pivot(series: Sequence[TagCount]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per period and one column per tag, for people; a name used by a topic and an entity gets its kind."""
    keys = list(dict.fromkeys((count.kind, count.name) for count in series))
    shared = {name for _, name in keys if sum(1 for _, other in keys if other == name) > 1}
    labels = {(kind, name): f"{name} ({kind})" if name in shared else name for kind, name in keys}
    rows: dict[Any, dict[str, Any]] = {}
    for count in series:
        rows.setdefault(count.period, {"period": count.period})[labels[(count.kind, count.name)]] = count.stories
    return list(rows.values()), ["period", *labels.values()]


def _plot(series: Sequence[TagCount], path: Path, title: str) -> None:
    """Draw one line per tag (matplotlib's object API: no pyplot state, no GUI backend)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots()
    lines: dict[str, tuple[list[Any], list[int]]] = {}
    for count in series:
        periods, values = lines.setdefault(count.name, ([], []))
        periods.append(count.period)
        values.append(count.stories)
    for name, (periods, values) in lines.items():
        axes.plot(periods, values, marker="o", markersize=3, label=name)
    axes.set_title(title)
    axes.set_ylabel("stories")
    axes.set_ylim(bottom=0)
    if len(lines) > 1:
        axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.savefig(path, format="png", dpi=100)
