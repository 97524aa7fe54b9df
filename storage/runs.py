"""History of flow runs with their summaries, for people and scripts that query the database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.models import Run


def start_run(session: Session, flow: str, *, started_at: datetime) -> int:
    """Record that a run of `flow` started; returns its id."""
    run = Run(flow=flow, started_at=started_at, status="running")
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, *, status: str, finished_at: datetime, summary: dict[str, Any]) -> None:
    """Record how a run ended, with its summary as JSON."""
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=status, finished_at=finished_at, summary=json.dumps(summary, sort_keys=True))
    )


def abandon_runs(session: Session, flow: str, *, finished_at: datetime) -> int:
    """Mark the runs of `flow` still `running` as `abandoned`; called by a run that holds `flow`'s lock, so those runs
    died without finishing (SIGKILL, a lost machine). Returns how many."""
    abandoned = session.execute(
        update(Run)
        .where(Run.flow == flow, Run.status == "running")
        .values(status="abandoned", finished_at=finished_at)
        .returning(Run.id)
    )
    return len(abandoned.all())
