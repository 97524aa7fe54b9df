"""`newsmon stories` (list and full-text search) and `newsmon prune` (retention, with tombstones)."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from typing import Annotated

import typer

from flows.cli.options import (
    EntityOption,
    FormatOption,
    LimitOption,
    TopicOption,
    WideOption,
    now,
    parse_duration,
    parse_strict_duration,
    resolve_tag,
)
from flows.cli.output import Format, emit_json, emit_rows, plural, rows_of, say
from flows.database import get_session_factory, read_only_session
from flows.monitors import find_monitor, load_monitors
from flows.settings import get_settings
from newsmon_errors import UserInputError
from storage.listing import list_stories
from storage.relevance import explanations
from storage.retention import PruneResult, prune
from storage.tags import TagRef

PRUNE_BATCH = 2_000
"""Stories pruned per transaction."""


def stories_command(
    topic: TopicOption = None,
    entity: EntityOption = None,
    since: Annotated[
        timedelta | None,
        typer.Option(
            "--since",
            parser=parse_duration,
            metavar="DURATION",
            help="Only stories first seen within this long: 30min, 12h, 7d, 2w, 3mo (at most 36500d).",
        ),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help='Words, "exact phrases", a OR b, -excluded (English stemming).')
    ] = None,
    relevant: Annotated[
        bool, typer.Option("--relevant", help="Only stories relevant to --monitor (to any monitor without it).")
    ] = False,
    monitor: Annotated[str | None, typer.Option("--monitor", help="A monitor, by name: adds its score.")] = None,
    story_id: Annotated[int | None, typer.Option("--id", help="One story, by id.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Say why each story scored as it did.")] = False,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """List stories, newest first, with how many sightings and outlets carried each (and relevance scores)."""
    tags = tuple(
        resolve_tag(TagRef(kind, name)) for kind, name in (("topic", topic), ("entity", entity)) if name is not None
    )
    if monitor is not None:
        find_monitor(load_monitors(get_settings().watchlist), monitor)
    with read_only_session() as session:
        stories = list_stories(
            session,
            since=None if since is None else now() - since,
            tags=tags,
            search=search,
            relevant_to=monitor if relevant else None,
            any_monitor=relevant and monitor is None,
            monitor=monitor,
            story_ids=None if story_id is None else [story_id],
            limit=limit,
        )
        explained = explanations(session, [s.id for s in stories], monitor) if explain else {}
    columns = ["id", "first_seen_at", "title", "sightings", "outlets", "canonical_url"]
    if monitor is not None:
        columns.insert(3, "score")
    rows = rows_of(stories, columns)
    if explain:
        columns.append("why")
        for row in rows:
            row["why"] = explained.get(row["id"], "not scored yet")
    emit_rows(rows, columns, fmt, title=f"{len(stories)} {plural(len(stories), 'story')}", wide=wide)


def prune_command(
    older_than: Annotated[
        timedelta,
        typer.Option(
            "--older-than", parser=parse_strict_duration, metavar="DURATION", help="e.g. 365d: first seen before."
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go, change nothing.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (required when stdin is not a terminal).")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table (a line on stderr), json or csv.")] = Format.table,
) -> None:
    """Delete stories first seen before a cutoff, keeping tombstones of their URLs so they are not fetched again.

    Asks for confirmation on a terminal; elsewhere (cron, scripts) it deletes nothing without --yes. Durations take
    `min` for minutes and `mo` for months: a bare `m` is refused.
    """
    started = now()
    if dry_run or not yes:
        with get_session_factory()() as session:
            result = prune(session, older_than, started)
            session.rollback()
        if not dry_run and result.stories:
            _confirm_prune(result)
    if not dry_run:
        # One short transaction per batch: ingestion can write in between (SQLite has one writer at a time).
        result = PruneResult(cutoff=started - older_than, stories=0, tombstones=0)
        while True:
            with get_session_factory().begin() as session:
                batch = prune(session, older_than, started, limit=PRUNE_BATCH)
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
        f"{verb} {result.stories} {plural(result.stories, 'story')} first seen before "
        f"{result.cutoff:%Y-%m-%d %H:%M} UTC; {result.tombstones} {plural(result.tombstones, 'URL')} tombstoned"
    )


def _confirm_prune(planned: PruneResult) -> None:
    """Ask before deleting on a terminal; refuse without --yes anywhere else (nobody there to ask)."""
    what = f"{planned.stories} {plural(planned.stories, 'story')} first seen before {planned.cutoff:%Y-%m-%d %H:%M} UTC"
    if not sys.stdin.isatty():
        raise UserInputError(f"prune would delete {what}: add --yes to confirm (stdin is not a terminal to ask on)")
    if not typer.confirm(f"Delete {what}?", default=False, err=True):
        raise UserInputError("not pruned: nothing was deleted")
