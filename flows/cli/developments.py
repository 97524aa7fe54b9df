"""`newsmon developments`: the developing story event by event (one row per development, however many outlets
reported it), newest first; `newsmon developments rebuild` decides every development again."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from flows.cli.options import FormatOption, LimitOption, now, parse_duration
from flows.cli.output import Format, emit_json, emit_rows, plural, say
from flows.database import read_only_session
from flows.monitors import find_monitor, load_monitors
from flows.settings import get_settings
from storage.developments import DevelopmentRow, list_developments

developments_app = typer.Typer(
    help="Developments: one event, however many outlets reported it.", invoke_without_command=True
)


@developments_app.callback()
def developments_command(
    ctx: typer.Context,
    since: Annotated[
        timedelta | None,
        typer.Option("--since", parser=parse_duration, metavar="DURATION", help="Last seen within, e.g. 7d."),
    ] = None,
    monitor: Annotated[str | None, typer.Option("--monitor", help="Score (and --relevant) for this monitor.")] = None,
    relevant: Annotated[
        bool, typer.Option("--relevant", help="Only developments with a story relevant to --monitor (or any).")
    ] = False,
    timeline: Annotated[bool, typer.Option("--timeline", help="Oldest first: the story as it developed.")] = False,
    limit: LimitOption = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """List developments, newest first, with title, first and last seen, stories and outlets (JSON: the stories)."""
    if ctx.invoked_subcommand is not None:
        return
    if monitor is not None:
        find_monitor(load_monitors(get_settings().watchlist), monitor)
    with read_only_session() as session:
        rows = list_developments(
            session, since=None if since is None else now() - since, monitor=monitor, relevant=relevant, limit=limit
        )
    if timeline:
        rows.reverse()
    if fmt is Format.json:
        emit_json([_document(row) for row in rows])
        return
    columns = ["id", "first_seen_at", "last_seen_at", "stories", "outlets", "title"]
    if monitor is not None:
        columns.insert(5, "score")
    table = [
        {
            "id": row.id,
            "first_seen_at": row.first_seen_at,
            "last_seen_at": row.last_seen_at,
            "stories": row.story_count,
            "outlets": row.outlet_count,
            "score": row.score,
            "title": row.title,
        }
        for row in rows
    ]
    emit_rows(table, columns, fmt, title=f"{len(rows)} developments")


def _document(row: DevelopmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "first_seen_at": row.first_seen_at,
        "last_seen_at": row.last_seen_at,
        "stories": row.story_count,
        "outlets": row.outlet_count,
        "score": row.score,
        "items": [
            {
                "id": story.id,
                "title": story.title,
                "url": story.canonical_url,
                "first_seen_at": story.first_seen_at,
                "outlets": list(story.outlets),
                "score": story.score,
            }
            for story in row.stories
        ],
    }


@developments_app.command("rebuild")
def rebuild_command() -> None:
    """Forget every development and decide them again, in story order (after upgrading newsmon)."""
    from flows.analysis import rebuild_developments

    summary = rebuild_developments(get_settings().watchlist)
    say(
        f"{summary.stories} {plural(summary.stories, 'story')} in {summary.developments_started} "
        f"{plural(summary.developments_started, 'development')}"
    )
