"""`newsmon trends ...`: stories per day or week per tag (with a PNG plot), rising tags, co-mentions, outlets, and
when each tag was first and last seen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli.options import (
    MAX_DAYS,
    EntityOption,
    FormatOption,
    LimitOption,
    TopicOption,
    WatchedOption,
    now,
    one_tag,
    required_tag,
    resolve_tag,
)
from flows.cli.output import Format, emit_rows, rows_of, say
from flows.database import read_only_session
from newsmon_errors import UserInputError
from storage.attention import co_mentions, outlet_attention
from storage.trends import TagCount, rising_tags, tag_series, tag_spans
from storage.windows import Window, days_window, preceding_window


class Interval(StrEnum):
    day = "day"
    week = "week"


class Kind(StrEnum):
    topic = "topic"
    entity = "entity"
    any = "any"


if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Beyond this many periods a chart labels dates where matplotlib chooses.
MAX_DATE_LABELS = 31

trends_app = typer.Typer(help="Trends: stories per day or week per tag, rising tags, co-mentions, outlets.")


@trends_app.callback(invoke_without_command=True)
def trends(
    ctx: typer.Context,
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS, help="How many days back, today included.")] = 30,
    interval: Annotated[Interval, typer.Option("--interval", help="Count per day, or per week (from Monday).")] = (
        Interval.day
    ),
    fmt: FormatOption = Format.table,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw the series as a PNG chart.")] = None,
) -> None:
    """Stories per day or week mentioning a topic or an entity (every watched tag when neither is given)."""
    if ctx.invoked_subcommand is not None:
        return
    tag = one_tag(topic, entity)
    tag = None if tag is None else resolve_tag(tag)
    window = days_window(days, now(), interval=interval.value)
    with read_only_session() as session:
        series = tag_series(session, window, None if tag is None else [tag], interval=interval.value)
    if plot is not None:
        try:
            _plot(series, plot, plot_title(tag.name if tag else None, interval.value, days))
        except OSError as error:
            raise UserInputError(f"cannot write {plot}: {error.strerror}") from error
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
    days: Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS, help="The recent window, in days.")] = 7,
    baseline_days: Annotated[
        int, typer.Option("--baseline-days", min=1, max=MAX_DAYS, help="The window before it.")
    ] = 28,
    kind: Annotated[Kind, typer.Option("--kind")] = Kind.any,
    watched: WatchedOption = False,
    min_stories: Annotated[int, typer.Option("--min-stories", min=1)] = 3,
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Tags whose share of stories grew most in the last days against the weeks before (smoothed log ratio)."""
    recent = days_window(days, now())
    with read_only_session() as session:
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
    emit_rows(rows_of(rising, columns), columns, fmt, title=f"rising over the last {days} days")


@trends_app.command("co-mentions")
def trends_co_mentions(
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[
        int, typer.Option("--days", min=1, max=MAX_DAYS, help="The window, compared with the same span before it.")
    ] = 30,
    kind: Annotated[Kind, typer.Option("--kind", help="Kind of the co-mentioned tags.")] = Kind.entity,
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Tags that appear in the same stories as a topic or entity, now and in the window before."""
    tag = resolve_tag(required_tag(topic, entity))
    window = days_window(days, now())
    with read_only_session() as session:
        found = co_mentions(
            session,
            tag,
            window,
            baseline=preceding_window(window, days),
            kind=_kind(kind),
            limit=limit,
        )
    columns = ["kind", "name", "watched", "stories", "share", "baseline_stories", "baseline_share"]
    emit_rows(rows_of(found, columns), columns, fmt, title=f"with {tag.name}, last {days} days")


@trends_app.command("outlets")
def trends_outlets(
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS)] = 30,
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Outlets that carried the most stories with a topic or entity (share: of all the stories they carried)."""
    tag = resolve_tag(required_tag(topic, entity))
    with read_only_session() as session:
        found = outlet_attention(session, tag, days_window(days, now()), limit=limit)
    columns = ["outlet", "stories", "sightings", "share"]
    emit_rows(rows_of(found, columns), columns, fmt, title=f"outlets on {tag.name}, last {days} days")


@trends_app.command("seen")
def trends_seen(
    topic: TopicOption = None,
    entity: EntityOption = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, max=MAX_DAYS, help="Only stories of the last days (default: all).")
    ] = (None),
    kind: Annotated[Kind, typer.Option("--kind")] = Kind.any,
    watched: WatchedOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """When each tag was first and last seen, and in how many stories."""
    tag = one_tag(topic, entity)
    tag = None if tag is None else resolve_tag(tag)
    window: Window | None = None if days is None else days_window(days, now())
    with read_only_session() as session:
        spans = tag_spans(
            session,
            window=window,
            tags=None if tag is None else [tag],
            kind=_kind(kind),
            watched_only=watched,
        )
    columns = ["kind", "name", "watched", "first_seen_at", "last_seen_at", "stories"]
    emit_rows(rows_of(spans, columns), columns, fmt, title="first and last seen")


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


def plot_title(tag: str | None, interval: str, days: int) -> str:
    """What a trend chart plots: the tag (or every watched tag), the unit counted and the window."""
    subject = f"mentioning {tag}" if tag else "per watched tag"
    return f"Stories {subject}, per {interval}, last {days} days"


def _plot(series: Sequence[TagCount], path: Path, title: str) -> None:
    trend_figure(series, title).savefig(path, format="png", dpi=100)


def trend_figure(series: Sequence[TagCount], title: str) -> Figure:
    """One line per tag (matplotlib's object API: no pyplot state, no GUI backend): counts on an integer axis, one
    date label under each period when they fit."""
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

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
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    every = sorted({count.period for count in series})
    if every and len(every) <= MAX_DATE_LABELS:
        axes.set_xticks(date2num(every), [period.isoformat() for period in every])
    if len(lines) > 1:
        axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    return figure
