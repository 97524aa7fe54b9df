"""Run rows say how every run ended (issue 16, item 11): a run killed with SIGKILL leaves its row `running`; the next
run that takes the lock marks it `abandoned`, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from flows.database import get_engine, get_session_factory
from storage.locks import acquire_lock
from storage.models import Run
from storage.runs import start_run

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_row_of_a_killed_run_is_marked_abandoned_by_the_next_run(database: str) -> None:
    from flows.ingest import ingest

    killed_at = datetime.now(UTC) - timedelta(hours=1)
    with get_session_factory().begin() as session:  # what a run SIGKILLed mid-way leaves: its row and its lease
        killed = start_run(session, "ingest", started_at=killed_at)
        acquire_lock(session, "ingest", "killed-run", now=killed_at, lease=timedelta(minutes=5))
    summary = ingest()
    assert summary["status"] == "completed"
    with get_engine().connect() as connection:
        rows = connection.execute(select(Run.id, Run.status, Run.finished_at).order_by(Run.id)).all()
    assert [(row.id == killed, row.status) for row in rows] == [(True, "abandoned"), (False, "completed")]
    assert all(row.finished_at is not None for row in rows)
