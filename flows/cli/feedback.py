"""`newsmon feedback STORY_ID --relevant|--not-relevant`: a reader's judgement of a story for a monitor.

The judgement decides that story's relevance from now on (it survives `retag`), and the monitor's scoring learns
from it (docs/design.md, Contract v2).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select, update

from flows.analysis import analyse_pending
from flows.cli.options import now
from flows.cli.output import Format, emit_json, say
from flows.database import get_session_factory
from flows.monitors import find_monitor, load_monitors
from flows.settings import get_settings
from newsmon_errors import UserInputError
from storage.models import Story
from storage.relevance import record_feedback, story_scores


def feedback_command(
    story_id: Annotated[int, typer.Argument(help="The story's id (see `newsmon stories`).")],
    relevant: Annotated[
        bool | None, typer.Option("--relevant/--not-relevant", help="Is the story about the monitor's story?")
    ] = None,
    monitor: Annotated[
        str | None, typer.Option("--monitor", help="The monitor (needed when several are configured).")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who judged (e.g. an email address).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table (a line on stderr) or json.")] = Format.table,
) -> None:
    """Record a reader's judgement of a story for a monitor, and score the story again."""
    if relevant is None:
        raise typer.BadParameter("give --relevant or --not-relevant")
    spec = get_settings().watchlist
    monitors = load_monitors(spec)
    if monitor is None:
        if len(monitors) != 1:
            names = ", ".join(m.name for m in monitors)
            raise UserInputError(f"several monitors are configured ({names}): say which with --monitor")
        monitor = monitors[0].name
    find_monitor(monitors, monitor)
    with get_session_factory().begin() as session:
        if session.scalar(select(Story.id).where(Story.id == story_id)) is None:
            raise UserInputError(f"no story with id {story_id}")
        record_feedback(session, story_id, monitor, relevant=relevant, by=by, now=now())
        session.execute(update(Story).where(Story.id == story_id).values(analysed_at=None))
    analyse_pending(spec)
    with get_session_factory()() as session:
        row = story_scores(session, [story_id], monitor).get((story_id, monitor))
    verdict = "relevant" if relevant else "not relevant"
    if fmt is Format.json:
        emit_json({"story_id": story_id, "monitor": monitor, "relevant": relevant, "score": row.score if row else None})
    else:
        say(f"story {story_id} judged {verdict} for {monitor}")
